#!/usr/bin/env bash
# Private local infrastructure for Palisade: nats-server (JetStream, generated least-privilege
# authorization), a PostgreSQL cluster, and a Docker engine when none answers.
#   scripts/infra.sh up|down|status        (root: installs Debian packages and runs servers as their users)
# Idempotent. `down` stops only what `up` started. State lives in $PALISADE_HOME (default <repo>/.palisade).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PALISADE_HOME="${PALISADE_HOME:-$REPO/.palisade}"
NATS_PORT="${PALISADE_NATS_PORT:-14222}"
NATS_MONITOR_PORT="${PALISADE_NATS_MONITOR_PORT:-18222}"
PG_PORT="${PALISADE_PG_PORT:-15432}"
PG_DATABASE="${PALISADE_PG_DATABASE:-palisade}"
# NATS with TLS (certificate from the local CA in $PALISADE_HOME/tls): every client then connects with
# tls:// and the CA file. On (1) in the three-VM deployment; off (0, default) keeps loopback plain here.
NATS_TLS="${PALISADE_NATS_TLS:-0}"
RUN="$PALISADE_HOME/run"
LOGS="$PALISADE_HOME/logs"

say() { echo "infra: $*"; }
die() { echo "infra: error: $*" >&2; exit 1; }

require_root() { [ "$(id -u)" = 0 ] || die "must run as root (it installs Debian packages and starts servers as their own users); try: sudo $0 $*"; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

wait_port() { # port seconds what
  for _ in $(seq 1 $(( $2 * 10 ))); do port_busy "$1" && return 0; sleep 0.1; done
  die "$3 did not start listening on port $1 within $2 s (see $LOGS)"
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

install_packages() {
  local missing=()
  command -v nats-server >/dev/null || missing+=(nats-server)
  [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ] || missing+=(postgresql)
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v ss >/dev/null || missing+=(iproute2)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v nft >/dev/null || missing+=(nftables)
  # The Compose test and docs/compose.md: Debian's Compose (v1) when neither v1 nor the v2 plugin is there.
  command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
  command -v openssl >/dev/null || missing+=(openssl)
  # A registry on loopback for the image-pinning test (libs/deploy/src/image-pins.int-spec.ts): nothing else can be pulled here.
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing from Debian: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$LOGS/apt.log" 2>&1 \
      || die "apt-get install ${missing[*]} failed (see $LOGS/apt.log)"
    # Debian starts a default cluster, nats and a registry on install; ours are private, the package ones are not needed.
    systemctl disable --now postgresql nats-server docker-registry >/dev/null 2>&1 || true
  fi
}

ensure_built() {
  if [ ! -d "$REPO/node_modules" ]; then say "npm install"; (cd "$REPO" && npm install --no-audit --no-fund >"$LOGS/npm-ci.log" 2>&1) || die "npm ci failed (see $LOGS/npm-ci.log)"; fi
  if [ ! -f "$REPO/dist/libs/cli/src/main.js" ]; then (cd "$REPO" && npm run -s build >/dev/null) || die "build failed"; fi
}

palisade() { node "$REPO/bin/palisade.js" "$@"; }

# --- NATS -------------------------------------------------------------------------------------------
nats_up() {
  local conf="$PALISADE_HOME/nats/nats.conf" pidf="$RUN/nats.pid"
  mkdir -p "$PALISADE_HOME/nats/jetstream"
  local tls=(); [ "$NATS_TLS" = 1 ] && tls=(--tls)
  palisade infra nats-config --port "$NATS_PORT" --monitor-port "$NATS_MONITOR_PORT" --store "$PALISADE_HOME/nats/jetstream" --out "$conf" "${tls[@]}" >/dev/null
  if pid_alive "$pidf"; then
    kill -HUP "$(cat "$pidf")" # reload authorization in case the manifest changed
    say "nats-server already running (pid $(cat "$pidf")), config reloaded"
    return
  fi
  port_busy "$NATS_PORT" && die "port $NATS_PORT is taken by another process; set PALISADE_NATS_PORT"
  port_busy "$NATS_MONITOR_PORT" && die "port $NATS_MONITOR_PORT is taken by another process; set PALISADE_NATS_MONITOR_PORT"
  nats-server -c "$conf" -P "$pidf" >>"$LOGS/nats.log" 2>&1 &
  wait_port "$NATS_PORT" 15 nats-server
  say "nats-server on 127.0.0.1:$NATS_PORT$([ "$NATS_TLS" = 1 ] && echo ' with TLS') (JetStream in $PALISADE_HOME/nats/jetstream)"
}

# --- PostgreSQL ---------------------------------------------------------------------------------------
# PostgreSQL refuses to run as root: the cluster belongs to the `postgres` user, which must be able to
# traverse every parent directory. When the checkout sits somewhere it cannot reach (e.g. a mode-700
# temp dir) the cluster goes to /var/lib/palisade/<id> instead, recorded in $PALISADE_HOME/pg.location.
pg_dir() {
  if [ -f "$PALISADE_HOME/pg.location" ]; then cat "$PALISADE_HOME/pg.location"; return; fi
  local dir="$PALISADE_HOME/pg"
  if ! su postgres -s /bin/sh -c "test -x '$PALISADE_HOME'" 2>/dev/null; then
    dir="/var/lib/palisade/$(echo -n "$PALISADE_HOME" | sha256sum | cut -c1-12)/pg"
  fi
  echo "$dir" > "$PALISADE_HOME/pg.location"
  echo "$dir"
}

pg_up() {
  local bin dir; bin="$(pg_bin)"; dir="$(pg_dir)"
  mkdir -p "$dir"; chown postgres:postgres "$dir"; chmod 700 "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    local pw; pw="$(mktemp)"; cp "$PALISADE_HOME/secrets/pg/postgres.pw" "$pw"; chown postgres "$pw"; chmod 600 "$pw"
    su postgres -s /bin/sh -c "'$bin/initdb' -D '$dir/data' -U postgres --pwfile='$pw' --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8" >"$LOGS/initdb.log" 2>&1 \
      || { rm -f "$pw"; die "initdb failed (see $LOGS/initdb.log)"; }
    rm -f "$pw"
  fi
  mkdir -p "$dir/socket"; chown postgres:postgres "$dir/socket"
  if su postgres -s /bin/sh -c "'$bin/pg_ctl' -D '$dir/data' status" >/dev/null 2>&1; then
    say "PostgreSQL already running on 127.0.0.1:$PG_PORT"
    return
  fi
  port_busy "$PG_PORT" && die "port $PG_PORT is taken by another process; set PALISADE_PG_PORT"
  su postgres -s /bin/sh -c "'$bin/pg_ctl' -D '$dir/data' -l '$dir/postgres.log' -w -t 30 -o \"-p $PG_PORT -k '$dir/socket' -c listen_addresses=127.0.0.1\" start" >/dev/null \
    || die "PostgreSQL failed to start (see $dir/postgres.log)"
  say "PostgreSQL on 127.0.0.1:$PG_PORT (cluster in $dir/data)"
}

pg_down() {
  local bin dir; bin="$(pg_bin)"; [ -f "$PALISADE_HOME/pg.location" ] || return 0; dir="$(cat "$PALISADE_HOME/pg.location")"
  if [ -f "$dir/data/postmaster.pid" ]; then
    su postgres -s /bin/sh -c "'$bin/pg_ctl' -D '$dir/data' -m fast -w stop" >/dev/null 2>&1 && say "PostgreSQL stopped"
  fi
}

# --- Docker -------------------------------------------------------------------------------------------
docker_up() {
  if docker info >/dev/null 2>&1; then say "Docker engine answers"; return; fi
  say "starting dockerd"
  dockerd --pidfile "$RUN/dockerd.pid" >>"$LOGS/dockerd.log" 2>&1 &
  for _ in $(seq 1 150); do docker info >/dev/null 2>&1 && { touch "$RUN/dockerd.ours"; say "dockerd started"; return; }; sleep 0.2; done
  die "dockerd did not come up within 30 s (see $LOGS/dockerd.log)"
}

nats_url() { if [ "$NATS_TLS" = 1 ]; then echo "tls://127.0.0.1:$NATS_PORT"; else echo "nats://127.0.0.1:$NATS_PORT"; fi; }

write_env() {
  cat > "$PALISADE_HOME/infra.env" <<ENV
# Written by scripts/infra.sh: where the local infrastructure listens. No secrets in here — only paths.
PALISADE_HOME=$PALISADE_HOME
PALISADE_NATS_URL=$(nats_url)
$([ "$NATS_TLS" = 1 ] && echo "PALISADE_NATS_CA_FILE=$PALISADE_HOME/tls/ca.crt")
PALISADE_NATS_MONITOR_URL=http://127.0.0.1:$NATS_MONITOR_PORT
PALISADE_PG_HOST=127.0.0.1
PALISADE_PG_PORT=$PG_PORT
PALISADE_PG_DATABASE=$PG_DATABASE
ENV
}

up() {
  require_root up
  mkdir -p "$PALISADE_HOME" "$RUN" "$LOGS"; chmod 711 "$PALISADE_HOME"
  install_packages
  ensure_built
  palisade infra secrets >/dev/null
  nats_up
  pg_up
  docker_up
  PALISADE_NATS_CA_FILE="$([ "$NATS_TLS" = 1 ] && echo "$PALISADE_HOME/tls/ca.crt")" palisade infra setup --nats "$(nats_url)" --pg-host 127.0.0.1 --pg-port "$PG_PORT" --pg-database "$PG_DATABASE" >"$LOGS/setup.log" 2>&1 \
    || { cat "$LOGS/setup.log" >&2; die "setup of streams/roles failed"; }
  write_env
  say "up — connection facts in $PALISADE_HOME/infra.env"
}

down() {
  require_root down
  if pid_alive "$RUN/nats.pid"; then kill "$(cat "$RUN/nats.pid")"; say "nats-server stopped"; fi
  pg_down
  if [ -f "$RUN/dockerd.ours" ] && pid_alive "$RUN/dockerd.pid"; then
    kill "$(cat "$RUN/dockerd.pid")"; rm -f "$RUN/dockerd.ours"; say "dockerd stopped"
  fi
}

status() {
  pid_alive "$RUN/nats.pid" && say "nats-server: running on $NATS_PORT" || say "nats-server: stopped"
  port_busy "$PG_PORT" && say "PostgreSQL: listening on $PG_PORT" || say "PostgreSQL: stopped"
  docker info >/dev/null 2>&1 && say "Docker: answers$([ -f "$RUN/dockerd.ours" ] && echo ' (started by infra.sh)')" || say "Docker: not answering"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
