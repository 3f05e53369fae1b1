#!/usr/bin/env bash
# Builds the sandbox image that services/sandbox-exec runs granted commands in, without any registry:
#   scripts/build-sandbox-image.sh            (root; prints the image ID, nothing else unless it fails)
#
# 1. key = content hash of the inputs (this script, infra/sandbox/Dockerfile, infra/sandbox/packages.txt,
#    suite, variant, architecture). If palisade/sandbox:<key> exists: print its ID and stop (idempotent).
# 2. rootfs: `debootstrap --variant=minbase --include=<packages.txt>` from the Debian mirror configured in
#    /etc/apt (read at run time; PALISADE_DEBIAN_MIRROR overrides), tarred and cached in
#    $PALISADE_HOME/cache (default <repo>/.palisade/cache) so a rebuild skips the download (~35 s -> ~5 s),
#    then `docker import`ed as palisade/sandbox-rootfs:<rootfs key>.
# 3. `docker build --build-arg BASE_IMAGE=palisade/sandbox-rootfs:<rootfs key> infra/sandbox`, tagged
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
VARIANT=minbase
IMAGE_REPO=palisade/sandbox
ROOTFS_REPO=palisade/sandbox-rootfs

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

packages() { sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$CONTEXT/packages.txt"; }
ARCH="$(dpkg --print-architecture 2>/dev/null || echo amd64)"

sha() { sha256sum | cut -c1-16; }
# debian_mirror comes from the shared rootfs helpers (also used by scripts/build-images.sh).
# shellcheck source=lib/debian-rootfs.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/debian-rootfs.sh"
ROOTFS_KEY="$( { echo "suite=$SUITE variant=$VARIANT arch=$ARCH"; packages; cat "${BASH_SOURCE[0]}" "$(dirname "${BASH_SOURCE[0]}")/lib/debian-rootfs.sh"; } | sha)"
KEY="$( { echo "rootfs=$ROOTFS_KEY"; cat "$CONTEXT/Dockerfile" "$CONTEXT/packages.txt"; } | sha)"
TAG="$IMAGE_REPO:$KEY"
ROOTFS_TAG="$ROOTFS_REPO:$ROOTFS_KEY"
TARBALL="$CACHE/sandbox-rootfs-$SUITE-$ARCH-$ROOTFS_KEY.tar"

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


if [ -z "$(image_id "$ROOTFS_TAG" || true)" ]; then
  if [ ! -s "$TARBALL" ]; then
    [ "$(id -u)" = 0 ] || die "debootstrap needs root: sudo $0"
    command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
    MIRROR="$(debian_mirror)" || die "no Debian mirror for '$SUITE' found in /etc/apt (set PALISADE_DEBIAN_MIRROR)"
    include="$(packages | paste -sd, -)"
    work="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
    cleanup_work() { rm -rf --one-file-system "$work"; }
    trap 'cleanup_work' EXIT
    echo "debootstrap --variant=$VARIANT --arch=$ARCH --include=$include $SUITE <rootfs> $MIRROR" >>"$LOG"
    debootstrap --variant="$VARIANT" --arch="$ARCH" --include="$include" "$SUITE" "$work/rootfs" "$MIRROR" >>"$LOG" 2>&1
    # Nothing the sandbox needs at run time: package caches and lists, logs, documentation.
    rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/cache/apt/"*.bin \
           "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/log/"* \
           "$work/rootfs/usr/share/doc/"* "$work/rootfs/usr/share/man/"* "$work/rootfs/usr/share/info/"*
    # Message catalogues (~45 MB): programs fall back to English.
    find "$work/rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    tar --numeric-owner --xattrs -C "$work/rootfs" \
        --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf "$work/rootfs.tar" . >>"$LOG" 2>&1
    mv "$work/rootfs.tar" "$TARBALL"
    cleanup_work
    trap - EXIT
  fi
  docker import --change 'LABEL palisade.role=sandbox-rootfs' --message "debootstrap $VARIANT $SUITE" \
    "$TARBALL" "$ROOTFS_TAG" >>"$LOG" 2>&1
fi

# The classic builder: BuildKit is not needed and the engine may lack buildx.
DOCKER_BUILDKIT=0 docker build --quiet --pull=false --build-arg "BASE_IMAGE=$ROOTFS_TAG" \
  --label "palisade.sandbox.key=$KEY" -t "$TAG" -t "$IMAGE_REPO:latest" "$CONTEXT" >>"$LOG" 2>&1
id="$(image_id "$TAG")" || die "image $TAG missing after build (see $LOG)"

# Prune what the current inputs no longer use (docker refuses to remove images that containers use).
docker image ls --format '{{.Repository}}:{{.Tag}}' | while read -r old; do
  case "$old" in
    "$TAG" | "$ROOTFS_TAG" | "$IMAGE_REPO:latest") ;;
    "$IMAGE_REPO:"* | "$ROOTFS_REPO:"*) docker image rm "$old" >>"$LOG" 2>&1 || true ;;
  esac
done
find "$CACHE" -maxdepth 1 -name 'sandbox-rootfs-*.tar' ! -name "$(basename "$TARBALL")" -delete

echo "$id"
