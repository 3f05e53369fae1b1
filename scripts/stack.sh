#!/usr/bin/env bash
# The whole Palisade stack on this machine: infrastructure plus every service, logs to files.
#   bash scripts/stack.sh up       start (idempotent), wait until healthy, print where the gateway listens
#   bash scripts/stack.sh down     stop the services (and the infrastructure infra.sh started)
#   bash scripts/stack.sh status
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export PALISADE_HOME="${PALISADE_HOME:-$REPO/.palisade}"
SERVICES=(ledger approvals sandbox-exec credential-broker llm-router cron channels gateway)
LOGS="$PALISADE_HOME/logs/stack"
RUN="$PALISADE_HOME/run"
GATEWAY_PORT="${PALISADE_GATEWAY_PORT:-18443}"
# Operator configuration (Nextcloud, Ollama, cloud model, channels): see palisade.env.example.
CONFIG="${PALISADE_CONFIG:-$REPO/palisade.env}"
# The gateway serves HTTPS with a locally generated CA (kept in its data dir); clients trust ca.crt.
GATEWAY_DATA="$PALISADE_HOME/gateway"
GATEWAY_CURL=(curl --cacert "$GATEWAY_DATA/tls/ca.crt")
GATEWAY_URL="https://localhost:$GATEWAY_PORT"

service_env() { # service → env assignments (paths to secrets, never their values)
  local svc="$1" role="palisade_${1//-/_}"
  echo "PALISADE_NATS_URL=$PALISADE_NATS_URL"
  echo "PALISADE_NATS_SEED_FILE=$PALISADE_HOME/secrets/nats/$svc.nk"
  echo "PALISADE_PG_HOST=$PALISADE_PG_HOST"
  echo "PALISADE_PG_PORT=$PALISADE_PG_PORT"
  echo "PALISADE_PG_DATABASE=$PALISADE_PG_DATABASE"
  echo "PALISADE_PG_USER=$role"
  echo "PALISADE_PG_PASSWORD_FILE=$PALISADE_HOME/secrets/pg/$role.pw"
  case "$svc" in
    ledger) echo "PALISADE_LEDGER_KEY_FILE=$PALISADE_HOME/secrets/keys/ledger-checkpoint.pem" ;;
    gateway) echo "PALISADE_GATEWAY_PORT=$GATEWAY_PORT"; echo "PALISADE_GATEWAY_DATA_DIR=$GATEWAY_DATA" ;;
    approvals) echo "PALISADE_APPROVALS_GRANT_KEY_FILE=$PALISADE_HOME/secrets/keys/approvals-grant.pem" ;;
    sandbox-exec) echo "PALISADE_SANDBOX_GRANT_PUBKEY_FILE=$PALISADE_HOME/secrets/keys/approvals-grant.pub.pem" ;;
    channels) echo "PALISADE_CHANNELS_FILE=${PALISADE_CHANNELS_FILE:-$PALISADE_HOME/channels.json}" ;;
    # A model name is required; health says when Ollama or the model is missing.
    llm-router) echo "PALISADE_OLLAMA_MODEL=${PALISADE_OLLAMA_MODEL:-llama3.1:8b}" ;;
  esac
  # Operator settings last, so they win (only PALISADE_* lines; values are paths or plain settings).
  if [ -f "$CONFIG" ]; then grep -E '^PALISADE_[A-Z0-9_]+=' "$CONFIG" || true; fi
}

up() {
  [ "$(id -u)" = 0 ] || { echo "stack: run as root: sudo bash scripts/stack.sh up" >&2; exit 1; }
  if [ ! -d node_modules ]; then echo "stack: npm install"; npm install --no-audit --no-fund >/dev/null; fi
  npm run -s build
  bash scripts/infra.sh up
  if [ -x scripts/build-sandbox-image.sh ]; then bash scripts/build-sandbox-image.sh >/dev/null; fi
  set -a; . "$PALISADE_HOME/infra.env"; set +a
  if [ -f "$CONFIG" ]; then set -a; . "$CONFIG"; set +a; fi
  mkdir -p "$LOGS" "$RUN" "$PALISADE_HOME/secrets/gateway"
  # No channel configured yet: an empty list (add Talk channels in PALISADE_CHANNELS_FILE).
  if [ ! -f "${PALISADE_CHANNELS_FILE:-$PALISADE_HOME/channels.json}" ]; then (umask 077; echo '[]' > "$PALISADE_HOME/channels.json"); fi
  for svc in "${SERVICES[@]}"; do
    if [ -f "$RUN/$svc.pid" ] && kill -0 "$(cat "$RUN/$svc.pid")" 2>/dev/null; then continue; fi
    env -i PATH="$PATH" HOME="${HOME:-/root}" $(service_env "$svc") \
      node --enable-source-maps "dist/services/$svc/src/main.js" >>"$LOGS/$svc.log" 2>&1 &
    echo $! > "$RUN/$svc.pid"
  done
  echo "stack: waiting for every service to answer…"
  for _ in $(seq 1 90); do
    body="$("${GATEWAY_CURL[@]}" -sS "$GATEWAY_URL/healthz" 2>/dev/null || true)"
    # Every service process answers; external dependencies (Nextcloud, Ollama, cloud) may still be
    # unconfigured or down — the health report says which and what to set, nothing pretends to work.
    if [ -n "$body" ] && ! grep -q 'no answer on health' <<<"$body"; then
      echo "stack: up. Gateway: $GATEWAY_URL (health: /healthz; CA certificate: $GATEWAY_DATA/tls/ca.crt). Logs: $LOGS"
      echo "stack: first run? set the operator password (npx palisade auth set-password) or make a scoped API key"
      echo "        (npx palisade auth create-api-key --label me --scopes operator.read,operator.write,operator.approvals)"
      node -e 'const h=JSON.parse(process.argv[1]);console.log("stack: health "+h.status);for(const [n,s] of Object.entries(h.services)){if(s.status!=="ok")console.log("  "+n+": "+s.status+(s.detail?" — "+s.detail:"")+(s.checks?" "+JSON.stringify(Object.fromEntries(Object.entries(s.checks).filter(([,c])=>!c.ok))):""))}' "$body" || true
      echo "stack: stop with: bash scripts/stack.sh down"
      return 0
    fi
    sleep 1
  done
  echo "stack: services did not all answer after 90 s:" >&2
  "${GATEWAY_CURL[@]}" -sS "$GATEWAY_URL/healthz" >&2 || true
  echo >&2; echo "see $LOGS" >&2
  exit 1
}

down() {
  for svc in "${SERVICES[@]}"; do
    if [ -f "$RUN/$svc.pid" ] && kill -0 "$(cat "$RUN/$svc.pid")" 2>/dev/null; then kill "$(cat "$RUN/$svc.pid")"; echo "stack: stopped $svc"; fi
    rm -f "$RUN/$svc.pid"
  done
  if [ "${1:-}" != "--keep-infra" ]; then bash scripts/infra.sh down; fi
}

status() {
  for svc in "${SERVICES[@]}"; do
    if [ -f "$RUN/$svc.pid" ] && kill -0 "$(cat "$RUN/$svc.pid")" 2>/dev/null; then echo "$svc: running"; else echo "$svc: stopped"; fi
  done
  "${GATEWAY_CURL[@]}" -sS "$GATEWAY_URL/healthz" 2>/dev/null && echo || echo "gateway health: no answer"
}

case "${1:-}" in
  up) up ;;
  down) shift; down "$@" ;;
  status) status ;;
  *) echo "usage: $0 up|down [--keep-infra]|status" >&2; exit 2 ;;
esac
