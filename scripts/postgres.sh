#!/usr/bin/env bash
# Start a local PostgreSQL for the cloud's tests and print the URL to use.
#
#   export CHAIRSIDE_TEST_PG_URL="$(bash scripts/postgres.sh)"
#
# Installs the Debian packages if missing, starts a cluster, creates the role and the
# database. Idempotent; run as root on Debian 12. Only the URL goes to stdout.
set -euo pipefail

PG_USER="${PG_USER:-chairside}"
PG_PASSWORD="${PG_PASSWORD:-chairside}"
PG_DB="${PG_DB:-chairside_test}"
PG_PORT="${PG_PORT:-5432}"

log() { echo "postgres.sh: $*" >&2; }

if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    log "installing PostgreSQL"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql postgresql-contrib >&2
fi

VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n1)"
CLUSTER=main
if ! pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {f=1} END {exit !f}'; then
    log "creating cluster $VERSION/$CLUSTER"
    pg_createcluster "$VERSION" "$CLUSTER" -p "$PG_PORT" >&2
fi
PORT="$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $3}')"
STATUS="$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $4}')"
if [ "$STATUS" != "online" ]; then
    log "starting cluster $VERSION/$CLUSTER on port $PORT"
    pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi

# Wait until it answers (bounded).
for _ in $(seq 1 60); do
    if su postgres -c "pg_isready -q -p $PORT" 2>/dev/null; then break; fi
    sleep 0.5
done
su postgres -c "pg_isready -q -p $PORT" || { log "PostgreSQL does not answer on port $PORT"; exit 1; }

psql_admin() { su postgres -c "psql -v ON_ERROR_STOP=1 -qAt -p $PORT $*"; }

if [ "$(psql_admin "-c \"SELECT 1 FROM pg_roles WHERE rolname='$PG_USER'\"")" != "1" ]; then
    log "creating role $PG_USER"
    psql_admin "-c \"CREATE ROLE $PG_USER LOGIN PASSWORD '$PG_PASSWORD' CREATEDB\"" >&2
fi
if [ "$(psql_admin "-c \"SELECT 1 FROM pg_database WHERE datname='$PG_DB'\"")" != "1" ]; then
    log "creating database $PG_DB"
    psql_admin "-c \"CREATE DATABASE $PG_DB OWNER $PG_USER\"" >&2
fi

echo "postgresql+psycopg://$PG_USER:$PG_PASSWORD@127.0.0.1:$PORT/$PG_DB"
