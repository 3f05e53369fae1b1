#!/usr/bin/env bash
# Prints the path of a Compose v2 binary, for testing docker-compose.yml with both Compose versions:
#   bash scripts/compose-v2.sh          → e.g. /usr/libexec/docker/cli-plugins/docker-compose
# Operators use the `docker compose` plugin of their Docker install; Debian 12 (this project's test
# machines) ships only Compose v1 (1.29), and no registry or GitHub download is reachable here. So,
# when no v2 is installed, this fetches Debian 13's `docker-compose` package (v2, a static Go binary
# needing only libc6 >= 2.34) from the Debian mirror apt already uses, verifying the whole chain:
# the suite's InRelease signature against the Debian archive keyring → the Packages index's SHA-256 →
# the .deb's SHA-256. The binary is unpacked under $PALISADE_HOME/cache (nothing is installed system-wide).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PALISADE_HOME="${PALISADE_HOME:-$REPO/.palisade}"
V2_SUITE="${PALISADE_COMPOSE_V2_SUITE:-trixie}"
KEYRING="${PALISADE_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}"
say() { echo "compose-v2: $*" >&2; }
die() { say "$*"; exit 1; }

is_v2() { "$@" version --short 2>/dev/null | grep -qE '^v?2\.'; }

# An installed v2 wins: the plugin (docker compose) or a standalone v2 binary — unless
# PALISADE_COMPOSE_V2_FETCH=1 asks for the download (and its verification) regardless.
FORCE="${PALISADE_COMPOSE_V2_FETCH:-0}"
[ "$FORCE" = 1 ] || for candidate in /usr/libexec/docker/cli-plugins/docker-compose /usr/lib/docker/cli-plugins/docker-compose \
  /usr/local/lib/docker/cli-plugins/docker-compose "$HOME/.docker/cli-plugins/docker-compose"; do
  if [ -x "$candidate" ] && is_v2 "$candidate"; then echo "$candidate"; exit 0; fi
done

CACHE="$PALISADE_HOME/cache/compose-v2-$V2_SUITE"
BIN="$CACHE/usr/libexec/docker/cli-plugins/docker-compose"
if [ "$FORCE" != 1 ] && [ -x "$BIN" ] && is_v2 "$BIN"; then echo "$BIN"; exit 0; fi

for tool in curl gpgv xz dpkg-deb sha256sum; do command -v "$tool" >/dev/null || die "$tool is missing (apt-get install curl gpgv xz-utils dpkg coreutils)"; done
[ -f "$KEYRING" ] || die "no Debian archive keyring at $KEYRING (apt-get install debian-archive-keyring)"
SUITE=bookworm
# shellcheck source=lib/debian-rootfs.sh
. "$REPO/scripts/lib/debian-rootfs.sh"
MIRROR="$(debian_mirror || true)"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
MIRROR="${MIRROR%/}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fetch() { curl -fsSL --retry 3 --max-time 300 -o "$2" "$1" || die "cannot download $1"; }

fetch "$MIRROR/dists/$V2_SUITE/InRelease" "$work/InRelease"
gpgv --keyring "$KEYRING" --output "$work/Release" "$work/InRelease" 2>"$work/gpgv.log" \
  || die "the InRelease signature of $V2_SUITE does not verify against $KEYRING: $(tail -3 "$work/gpgv.log")"
index="main/binary-amd64/Packages.xz"
want="$(awk -v f="$index" '/^SHA256:/ { on = 1; next } /^[^ ]/ { on = 0 } on && $3 == f { print $1 }' "$work/Release")"
[ -n "$want" ] || die "$index is not listed in the signed Release of $V2_SUITE"
fetch "$MIRROR/dists/$V2_SUITE/$index" "$work/Packages.xz"
[ "$(sha256sum "$work/Packages.xz" | cut -d' ' -f1)" = "$want" ] || die "$index does not match the signed Release"

xz -dc "$work/Packages.xz" > "$work/Packages"
stanza="$(awk 'BEGIN { RS = ""; FS = "\n" } $1 == "Package: docker-compose" && !done { print; done = 1 }' "$work/Packages")"
[ -n "$stanza" ] || die "no docker-compose package in $V2_SUITE"
file="$(printf '%s\n' "$stanza" | awk '/^Filename:/ { print $2 }')"
sha="$(printf '%s\n' "$stanza" | awk '/^SHA256:/ { print $2 }')"
version="$(printf '%s\n' "$stanza" | awk '/^Version:/ { print $2 }')"
case "$version" in 2.*) ;; *) die "docker-compose in $V2_SUITE is $version, not v2" ;; esac
say "fetching docker-compose $version from $MIRROR ($V2_SUITE), signature chain verified"
fetch "$MIRROR/$file" "$work/compose.deb"
[ "$(sha256sum "$work/compose.deb" | cut -d' ' -f1)" = "$sha" ] || die "$file does not match the signed Packages index"

rm -rf "$CACHE.tmp"
mkdir -p "$CACHE.tmp"
dpkg-deb -x "$work/compose.deb" "$CACHE.tmp"
[ -x "$CACHE.tmp/usr/libexec/docker/cli-plugins/docker-compose" ] || die "the package holds no usr/libexec/docker/cli-plugins/docker-compose"
rm -rf "$CACHE"
mv "$CACHE.tmp" "$CACHE"
is_v2 "$BIN" || die "$BIN does not run as Compose v2: $("$BIN" version 2>&1 | head -1)"
echo "$BIN"
