#!/bin/sh
# PostgreSQL for the Compose deployment: initialises the cluster on first start (superuser password
# from the file POSTGRES_PASSWORD_FILE, a Compose secret; SCRAM for every network login), then runs
# postgres in the foreground on the container's network only. Roles, schemas and grants are made by
# `palisade infra setup` (the compose `setup` service), not here.
set -eu
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
: "${PGDATA:=/var/lib/postgresql/data}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  [ -r "${POSTGRES_PASSWORD_FILE:-}" ] || { echo "palisade-postgres: POSTGRES_PASSWORD_FILE is not readable" >&2; exit 78; }
  "$BIN/initdb" -D "$PGDATA" -U postgres --pwfile="$POSTGRES_PASSWORD_FILE" \
    --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
  # Network logins from the Compose network only (the port is never published), always with a password.
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
fi
exec "$BIN/postgres" -D "$PGDATA" -c listen_addresses='*' -c port=5432 -c unix_socket_directories=/tmp \
  -c password_encryption=scram-sha-256 -c log_connections=off
