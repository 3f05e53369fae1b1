#!/usr/bin/env bash
# Prepares the files docker-compose.yml (profile agent) mounts, once per agent VM:
#   bash scripts/compose-init.sh            (root; idempotent: existing secrets are never overwritten)
#
# Everything goes to $PALISADE_DEPLOY_DIR (default <repo>/.palisade/deploy, git-ignored):
#   secrets/nats/<principal>.nk   NATS nkey seeds, one per service + admin + soc
#   secrets/pg/<role>.pw          PostgreSQL passwords (postgres superuser, one role per service)
#   secrets/keys/*.pem            Ed25519 keys: ledger checkpoints, approval grants (+ public keys)
#   secrets/talk-bot-secret       the Talk bot's shared secret (register the bot in Nextcloud with it)
#   nats/nats.conf                nats-server config rendered from the permission manifest (public nkeys)
#   channels.json                 channel list (PALISADE_TALK_URL set: one Talk channel "talk-main")
#   tls/nats.*                    NATS's server certificate (TLS required of every client; SANs: nats and
#                                 PALISADE_NATS_TLS_SANS, e.g. the agent VM's address the SOC connects to)
#   tls/ca.crt, tls/channels.*    a local CA and the Talk webhook's server certificate (SANs: localhost,
#                                 127.0.0.1 and PALISADE_CHANNELS_TLS_SANS, e.g. the agent VM's name and IP);
#                                 Nextcloud must trust tls/ca.crt (or put an operator certificate in place)
#   tls/gateway.*                 the gateway's HTTPS certificate from the same CA (SANs: localhost, 127.0.0.1
#                                 and PALISADE_GATEWAY_TLS_SANS, the names operators use): one CA to trust for
#                                 the gateway, channels and NATS. Re-run this script to renew (kept while
#                                 more than 30 days remain; the gateway reloads a changed certificate).
# The secrets are made inside the service image (`palisade infra secrets`, no Node needed on the host),
# each owned by the uid of the container that mounts it as a Compose secret (10001 services, 10002 nats,
# 10003 postgres), mode 600 in mode-700 directories (host root can read them; no other host user can).
# Also writes $PALISADE_DEPLOY_DIR/compose.env: PALISADE_DEPLOY_DIR and PALISADE_DOCKER_GID (paths and
# ids, no secrets) for `docker compose --env-file`; its other lines (e.g. the PALISADE_*_IMAGE pins that
# scripts/pin-images.sh writes there when the nextcloud/ollama profiles run with this env file) are kept.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPLOY="${PALISADE_DEPLOY_DIR:-$REPO/.palisade/deploy}"
IMAGE="palisade/service:${PALISADE_IMAGE_TAG:-latest}"

[ "$(id -u)" = 0 ] || { echo "compose-init: run as root" >&2; exit 1; }
docker image inspect "$IMAGE" >/dev/null 2>&1 || { echo "compose-init: $IMAGE missing: bash scripts/build-images.sh" >&2; exit 1; }
mkdir -p "$DEPLOY"
DEPLOY="$(cd "$DEPLOY" && pwd)"

channels='[]'
if [ -n "${PALISADE_TALK_URL:-}" ]; then
  channels="[{\"name\":\"talk-main\",\"kind\":\"talk\",\"baseUrl\":\"$PALISADE_TALK_URL\",\"secretFile\":\"/run/secrets/talk_bot_secret\"}]"
fi

docker run --rm --network none --user 0:0 -e PALISADE_HOME=/deploy -e CHANNELS="$channels" \
  -e NATS_TLS_SANS="nats${PALISADE_NATS_TLS_SANS:+,$PALISADE_NATS_TLS_SANS}" \
  -e CHANNELS_TLS_SANS="localhost,127.0.0.1${PALISADE_CHANNELS_TLS_SANS:+,$PALISADE_CHANNELS_TLS_SANS}" \
  -e GATEWAY_TLS_SANS="localhost,127.0.0.1${PALISADE_GATEWAY_TLS_SANS:+,$PALISADE_GATEWAY_TLS_SANS}" \
  -v "$DEPLOY:/deploy" "$IMAGE" sh -euc '
    palisade infra secrets >/dev/null
    # NATS clients (every service, setup, the SOC) must use TLS: a certificate from the local CA for the
    # name "nats" on the backend network plus PALISADE_NATS_TLS_SANS (the agent VM as the SOC reaches it).
    palisade infra nats-config --host 0.0.0.0 --port 4222 --monitor-port 8222 --store /data/jetstream \
      --tls --tls-sans "$NATS_TLS_SANS" --out /deploy/nats/nats.conf >/dev/null
    if [ ! -s /deploy/secrets/talk-bot-secret ]; then
      (umask 077; node -e "process.stdout.write(require(\"node:crypto\").randomBytes(32).toString(\"hex\"))" > /deploy/secrets/talk-bot-secret)
    fi
    [ -s /deploy/channels.json ] || printf "%s\n" "$CHANNELS" > /deploy/channels.json
    # Each Palisade service terminates its own TLS (vm-layout): the webhook listener gets a certificate
    # from the local CA, kept (not reissued) while fresh.
    palisade infra tls-cert channels --sans "$CHANNELS_TLS_SANS" >/dev/null
    palisade infra tls-cert gateway --sans "$GATEWAY_TLS_SANS" >/dev/null
    chown 10001:10001 /deploy/tls/channels.key /deploy/tls/channels.crt /deploy/tls/gateway.key /deploy/tls/gateway.crt
    chmod 600 /deploy/tls/channels.key /deploy/tls/gateway.key
    chown 10002:10002 /deploy/tls/nats.key /deploy/tls/nats.crt
    chmod 600 /deploy/tls/nats.key
    chmod 644 /deploy/tls/ca.crt
    # Each file belongs to the user of the container that mounts it, mode 600 (services refuse
    # secret files readable by anyone else): 10001 Palisade services, 10002 nats, 10003 postgres.
    chown -R 10001:10001 /deploy/secrets /deploy/channels.json
    chown 10003:10003 /deploy/secrets/pg/postgres.pw
    chown -R 10002:10002 /deploy/nats
    find /deploy/secrets /deploy/nats -type d -exec chmod 700 {} +
    find /deploy/secrets /deploy/nats /deploy/channels.json -type f -exec chmod 600 {} +
    chmod 644 /deploy/secrets/keys/*.pub.pem
  '
chmod 755 "$DEPLOY"

DOCKER_GID="$(stat -c %g /var/run/docker.sock 2>/dev/null || echo 0)"
# Other settings in compose.env (e.g. image pins from scripts/pin-images.sh) are kept.
kept=""
[ -f "$DEPLOY/compose.env" ] && kept="$(grep -vE '^(# Written by scripts/compose-init.sh|PALISADE_DEPLOY_DIR=|PALISADE_DOCKER_GID=)' "$DEPLOY/compose.env" || true)"
{
  echo "# Written by scripts/compose-init.sh (paths and ids only). Use: docker compose --env-file $DEPLOY/compose.env --profile agent up -d"
  echo "PALISADE_DEPLOY_DIR=$DEPLOY"
  echo "PALISADE_DOCKER_GID=$DOCKER_GID"
  [ -z "$kept" ] || printf '%s\n' "$kept"
} > "$DEPLOY/compose.env.tmp"
mv "$DEPLOY/compose.env.tmp" "$DEPLOY/compose.env"
echo "compose-init: ready in $DEPLOY"
