#!/usr/bin/env bash
# Pins the third-party images of docker-compose.yml by digest, on a machine that can reach their registry:
#   bash scripts/pin-images.sh [--env-file FILE] [--update] [--no-pull] [nextcloud] [ollama]
# For each image of the named profiles (default both) — PALISADE_NEXTCLOUD_IMAGE, PALISADE_NEXTCLOUD_DB_IMAGE,
# PALISADE_OLLAMA_IMAGE; the value from the environment, else FILE, else the tag default of docker-compose.yml —
# it `docker pull`s the tag, reads the image's repo digest and writes VAR=<name>:<tag>@sha256:<digest> into
# FILE: --env-file or PALISADE_ENV_FILE; else $PALISADE_DEPLOY_DIR/compose.env (scripts/compose-init.sh) when it
# exists, for `docker compose --env-file` with it; else .env beside docker-compose.yml (plain `docker compose`).
# Idempotent: a variable already pinned is kept (no pull) unless --update, which re-resolves its tag. Other
# lines of FILE are left alone. --no-pull uses the local images only. The `*-image-pins` services of
# docker-compose.yml refuse to start those profiles with unpinned images (scripts/check-image-pins.sh).
# Exit 1, saying why: docker missing, a pull failing with no local copy, an image without a repo digest (built
# or loaded locally, never pulled from a registry), a tag "latest" or no tag.
set -euo pipefail
say() { printf 'pin-images: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker is not installed (not on PATH): run this on a machine with Docker that can reach the registry, then copy the PALISADE_*_IMAGE lines it writes into the env file here"

here="${BASH_SOURCE[0]%/*}"
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
REPO="$(cd "$here/.." && pwd)"
# The deployment's env file: compose-init.sh's compose.env when there is one (Compose reads no .env when
# given --env-file), else .env beside docker-compose.yml (what a plain `docker compose` reads).
DEPLOY_ENV="${PALISADE_DEPLOY_DIR:-$REPO/.palisade/deploy}/compose.env"
if [ -n "${PALISADE_ENV_FILE:-}" ]; then ENV_FILE="$PALISADE_ENV_FILE"; elif [ -f "$DEPLOY_ENV" ]; then ENV_FILE="$DEPLOY_ENV"; else ENV_FILE="$REPO/.env"; fi
UPDATE=0
PULL=1
PROFILES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --env-file) [ $# -ge 2 ] || die "--env-file needs a file"; ENV_FILE="$2"; shift 2 ;;
    --update) UPDATE=1; shift ;;
    --no-pull) PULL=0; shift ;;
    nextcloud|ollama) PROFILES+=("$1"); shift ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (usage: bash scripts/pin-images.sh [--env-file FILE] [--update] [--no-pull] [nextcloud] [ollama])" ;;
  esac
done
[ ${#PROFILES[@]} -gt 0 ] || PROFILES=(nextcloud ollama)
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || die "the Docker engine does not answer (docker version failed): start it, or run as a user allowed to use it"

# variable profile tag-default (the same as docker-compose.yml and libs/deploy/src/image-pins.ts).
IMAGES=(
  'PALISADE_NEXTCLOUD_IMAGE nextcloud nextcloud:31-apache'
  'PALISADE_NEXTCLOUD_DB_IMAGE nextcloud postgres:16-bookworm'
  'PALISADE_OLLAMA_IMAGE ollama ollama/ollama:0.12.6'
)

file_value() { [ -f "$ENV_FILE" ] && sed -n "s/^[[:space:]]*$1=//p" "$ENV_FILE" | tail -n 1 | sed -e "s/^[\"']//" -e "s/[\"']\$//" || true; }
is_pinned() { [[ "$1" =~ ^[A-Za-z0-9._/:-]+@sha256:[0-9a-f]{64}$ ]] && [[ "${1%%@*}" != *:latest ]]; }
# Docker's familiar name: docker.io/library/postgres and postgres are the same repository.
familiar() { local r="${1#docker.io/}"; r="${r#index.docker.io/}"; printf '%s' "${r#library/}"; }

# set_line VAR VALUE: replace VAR's line(s) in ENV_FILE, or append one; the file is rewritten only on change.
set_line() {
  local var="$1" value="$2" tmp
  mkdir -p "$(dirname "$ENV_FILE")"
  [ -f "$ENV_FILE" ] || printf '# Compose settings of this deployment (docker compose reads .env beside docker-compose.yml).\n' > "$ENV_FILE"
  tmp="$(mktemp "$ENV_FILE.XXXXXX")"
  awk -v var="$var" -v line="$var=$value" '
    $0 ~ "^[[:space:]]*" var "=" { if (!done) print line; done = 1; next }
    { print }
    END { if (!done) print line }' "$ENV_FILE" > "$tmp"
  if cmp -s "$tmp" "$ENV_FILE"; then rm -f "$tmp"; else chmod --reference="$ENV_FILE" "$tmp"; mv "$tmp" "$ENV_FILE"; fi
}

for entry in "${IMAGES[@]}"; do
  read -r var profile default <<<"$entry"
  [[ " ${PROFILES[*]} " == *" $profile "* ]] || continue
  from_env="${!var:-}"
  current="${from_env:-$(file_value "$var")}"
  current="${current:-$default}"

  if is_pinned "$current" && [ "$UPDATE" = 0 ]; then
    set_line "$var" "$current"
    say "$var=$current (already pinned; --update re-resolves its tag)"
    continue
  fi
  ref="${current%%@*}"
  last="${ref##*/}"
  [[ "$last" == *:* ]] || die "$var=$current names no tag (it would mean \"latest\"): set $var=<name>:<version tag> and run again"
  [[ "$ref" != *:latest ]] || die "$var=$current uses the tag \"latest\": set $var=<name>:<version tag> and run again (a pin should say which version it is)"
  repo="${ref%:*}"

  if [ "$PULL" = 1 ]; then
    if ! out="$(docker pull -q "$ref" 2>&1)"; then
      docker image inspect "$ref" >/dev/null 2>&1 || die "cannot pull $ref: ${out//$'\n'/ }"
      say "cannot pull $ref (${out//$'\n'/ }); using the local image"
    fi
  fi
  docker image inspect "$ref" >/dev/null 2>&1 || die "$ref is not a local image (and --no-pull was given)"
  digests="$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$ref")"
  digest=""
  while IFS= read -r d; do
    [ -n "$d" ] || continue
    [ "$(familiar "${d%%@*}")" = "$(familiar "$repo")" ] && { digest="${d#*@}"; break; }
  done <<<"$digests"
  if [ -z "$digest" ]; then
    die "$ref has no repo digest${digests:+ for $repo (only: ${digests//$'\n'/ })} — it was built or loaded locally, never pulled from a registry, so there is nothing to pin it to. Push it to a registry and pin the pushed name, or use the upstream image"
  fi
  pinned="$ref@$digest"
  is_pinned "$pinned" || die "$ref: unexpected repo digest $digest"
  set_line "$var" "$pinned"
  if [ "$current" = "$pinned" ]; then say "$var=$pinned (unchanged)"; else say "$var=$pinned (was $current)"; fi
  if [ -n "$from_env" ] && [ "$from_env" != "$pinned" ]; then
    say "note: $var is set in your environment ($from_env) and overrides $ENV_FILE for Compose: unset it"
  fi
done

# The same check the Compose guard services run, on what was written.
env -u PALISADE_NEXTCLOUD_IMAGE -u PALISADE_NEXTCLOUD_DB_IMAGE -u PALISADE_OLLAMA_IMAGE -u PALISADE_ALLOW_UNPINNED_IMAGES \
  sh "$REPO/scripts/check-image-pins.sh" --env-file "$ENV_FILE" "${PROFILES[@]}" || die "the pins written to $ENV_FILE do not pass scripts/check-image-pins.sh"
say "pinned in $ENV_FILE"
