#!/usr/bin/env bash
# Builds the sandbox image that services/sandbox-exec runs granted commands in, without any registry:
#   scripts/build-sandbox-image.sh            (root; prints the image ID, nothing else unless it fails)
#
# 1. key = content hash of the inputs (this script, infra/sandbox/Dockerfile, infra/sandbox/packages.txt,
#    suite, variant, architecture). If palisade/sandbox:<key> exists: print its ID and stop (idempotent).
# 2. rootfs: `rootfs_image` of scripts/lib/debian-rootfs.sh (shared with scripts/build-images.sh):
#    `debootstrap --variant=minbase --include=<packages.txt>` from the Debian mirror configured in
#    /etc/apt (read at run time; PALISADE_DEBIAN_MIRROR overrides), tarred and cached in
#    $PALISADE_HOME/cache (default <repo>/.palisade/cache) so a rebuild skips the download (~35 s -> ~5 s),
#    then `docker import`ed as palisade/rootfs-sandbox:<rootfs key>.
# 3. `docker build --build-arg BASE_IMAGE=palisade/rootfs-sandbox:<rootfs key> infra/sandbox`, tagged
#    palisade/sandbox:<key> and palisade/sandbox:latest. The same Dockerfile builds FROM a registry base
#    (debian:bookworm-slim) where one is reachable; it then installs the packages with apt.
# Older palisade/sandbox:<key> tags and cached rootfs tarballs are pruned (images in use are kept).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONTEXT="$REPO/infra/sandbox"
export PALISADE_HOME="${PALISADE_HOME:-$REPO/.palisade}"
CACHE="$PALISADE_HOME/cache"
LOG_DIR="$PALISADE_HOME/logs"
LOG="$LOG_DIR/build-sandbox-image.log"
SUITE="${PALISADE_SANDBOX_SUITE:-bookworm}"
IMAGE_REPO=palisade/sandbox

die() { echo "build-sandbox-image: $*" >&2; exit 1; }

mkdir -p "$CACHE" "$LOG_DIR"
: >"$LOG"

# Quiet unless it fails: everything goes to the log, whose tail is shown on error.
on_error() {
  local rc=$?
  echo "build-sandbox-image: failed (exit $rc); last lines of $LOG:" >&2
  tail -n 40 "$LOG" >&2 || true
  exit "$rc"
}
trap on_error ERR

command -v docker >/dev/null || die "docker CLI not found"
docker version --format '{{.Server.Version}}' >>"$LOG" 2>&1 || die "Docker engine not reachable (see $LOG)"

ARCH="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
# debian_mirror and rootfs_image come from the shared rootfs helpers (also used by scripts/build-images.sh).
# shellcheck source=lib/debian-rootfs.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/debian-rootfs.sh"
KEY="$( { echo "suite=$SUITE arch=$ARCH"; cat "${BASH_SOURCE[0]}" "$(dirname "${BASH_SOURCE[0]}")/lib/debian-rootfs.sh" "$CONTEXT/Dockerfile" "$CONTEXT/packages.txt"; } | sha256sum | cut -c1-16)"
TAG="$IMAGE_REPO:$KEY"

image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null; }

# Parallel callers (test workers, CI) wait for each other instead of debootstrapping twice.
exec 9>"$CACHE/.build-sandbox-image.lock"
flock 9

if id="$(image_id "$TAG")"; then
  # Keep :latest pointing at the image of the current inputs.
  [ "$(image_id "$IMAGE_REPO:latest" || true)" = "$id" ] || docker tag "$TAG" "$IMAGE_REPO:latest" >>"$LOG" 2>&1
  echo "$id"
  exit 0
fi

ROOTFS_TAG="$(rootfs_image sandbox "$CONTEXT/packages.txt")"

# The classic builder: BuildKit is not needed and the engine may lack buildx.
DOCKER_BUILDKIT=0 docker build --quiet --pull=false --build-arg "BASE_IMAGE=$ROOTFS_TAG" \
  --label "palisade.sandbox.key=$KEY" -t "$TAG" -t "$IMAGE_REPO:latest" "$CONTEXT" >>"$LOG" 2>&1
id="$(image_id "$TAG")" || die "image $TAG missing after build (see $LOG)"

# Prune what the current inputs no longer use (docker refuses to remove images that containers use).
docker image ls --format '{{.Repository}}:{{.Tag}}' | while read -r old; do
  case "$old" in
    "$TAG" | "$ROOTFS_TAG" | "$IMAGE_REPO:latest") ;;
    # (palisade/sandbox-rootfs: the name of the sandbox rootfs before it came from rootfs_image.)
    "$IMAGE_REPO:"* | palisade/rootfs-sandbox:* | palisade/sandbox-rootfs:*) docker image rm "$old" >>"$LOG" 2>&1 || true ;;
  esac
done
find "$CACHE" -maxdepth 1 -name 'sandbox-rootfs-*.tar' -delete

echo "$id"
