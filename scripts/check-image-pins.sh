#!/bin/sh
# Refuses third-party images that are not pinned by digest. POSIX sh: docker-compose.yml runs it inside the
# `nextcloud-image-pins` / `ollama-image-pins` containers before the profile's services start, and it runs
# on a host as well:
#   sh scripts/check-image-pins.sh [--env-file FILE] nextcloud|ollama ...
# Checks, per profile, PALISADE_NEXTCLOUD_IMAGE + PALISADE_NEXTCLOUD_DB_IMAGE (nextcloud) or
# PALISADE_OLLAMA_IMAGE (ollama): from the environment, else FILE, else the tag default of docker-compose.yml.
# Accepted: <name>[:<tag>]@sha256:<64 lowercase hex>, tag not "latest". Exit 1 naming each variable and the
# fix, unless PALISADE_ALLOW_UNPINNED_IMAGES=1 (environment or FILE; then a warning and exit 0).
# Mirrors validateImageRef() in libs/deploy/src/image-pins.ts (the unit tests run both on the same cases).
LC_ALL=C
export LC_ALL
say() { printf 'check-image-pins: %s\n' "$*" >&2; }

env_file=
profiles=
while [ $# -gt 0 ]; do
  case "$1" in
    --env-file) [ $# -ge 2 ] || { say "--env-file needs a file"; exit 2; }; env_file=$2; shift 2 ;;
    nextcloud|ollama) profiles="$profiles $1"; shift ;;
    *) say "usage: check-image-pins.sh [--env-file FILE] nextcloud|ollama ..."; exit 2 ;;
  esac
done
[ -n "$profiles" ] || { say "usage: check-image-pins.sh [--env-file FILE] nextcloud|ollama ..."; exit 2; }
if [ -n "$env_file" ] && [ ! -r "$env_file" ]; then say "cannot read $env_file"; exit 2; fi

# value VAR DEFAULT: the environment, else the last VAR= line of the env file, else DEFAULT.
value() {
  eval "v=\${$1-}"
  if [ -z "$v" ] && [ -n "$env_file" ]; then
    v=$(sed -n "s/^[[:space:]]*$1=//p" "$env_file" | tail -n 1 | sed -e 's/^["'\'']//' -e 's/["'\'']$//')
  fi
  [ -n "$v" ] || v=$2
  printf '%s' "$v"
}

# why REF: empty when REF is pinned, else the reason.
why() {
  ref=$1
  case "$ref" in *@sha256:*) ;; *) echo "a tag, not a digest"; return ;; esac
  name=${ref%%@*}
  hex=${ref#*@sha256:}
  case "$ref" in *@*@*) echo "more than one @"; return ;; esac
  [ -n "$name" ] || { echo "no image name before @"; return; }
  case "$name" in *[!A-Za-z0-9._/:-]*) echo "invalid characters in the image name"; return ;; esac
  case "$name" in *:latest) echo "the tag \"latest\" (name a version tag)"; return ;; esac
  case "$hex" in *[!0-9a-f]*) echo "the digest is not lowercase hex"; return ;; esac
  [ ${#hex} -eq 64 ] || { echo "the digest has ${#hex} hex digits, not 64"; return; }
}

bad=0
for profile in $profiles; do
  case "$profile" in
    nextcloud) vars="PALISADE_NEXTCLOUD_IMAGE=nextcloud:31-apache PALISADE_NEXTCLOUD_DB_IMAGE=postgres:16-bookworm" ;;
    ollama) vars="PALISADE_OLLAMA_IMAGE=ollama/ollama:0.12.6" ;;
  esac
  for pair in $vars; do
    var=${pair%%=*}
    ref=$(value "$var" "${pair#*=}")
    reason=$(why "$ref")
    if [ -n "$reason" ]; then
      say "$var=$ref is not pinned by digest ($reason); want <name>:<tag>@sha256:<64 lowercase hex>"
      bad=1
    fi
  done
done
[ "$bad" = 0 ] && exit 0
if [ "$(value PALISADE_ALLOW_UNPINNED_IMAGES '')" = 1 ]; then
  say "WARNING: PALISADE_ALLOW_UNPINNED_IMAGES=1: starting images that are not pinned by digest (whatever the tag points to today; not for production)"
  exit 0
fi
say "refusing to start the profile with unpinned images. Fix: bash scripts/pin-images.sh$profiles (on a machine that can pull; it writes the pins into the env file Compose reads), or set PALISADE_ALLOW_UNPINNED_IMAGES=1 to run them unpinned anyway"
exit 1
