#!/usr/bin/env bash
# Start a local PostgreSQL for the shop-database source and its integration tests.
#
# Idempotent: installs PostgreSQL from the Debian packages only if absent, starts the cluster
# only if it is down, creates the role and database only if missing (and resets the role's
# password so that the printed DSN always works). Prints the DSN on stdout as its last line.
#
# Runs as root (CI) or as a user with sudo. The server refuses to run as root, so the cluster
# is driven with pg_ctlcluster and SQL runs as the postgres OS user.
#
# Environment:
#   SEGMENTS_PG_PASSWORD  password for the role (default: segments-local, for this machine only)
#   SEGMENTS_PG_ROLE      login role to create (default: segments)
#   SEGMENTS_PG_DATABASE  database to create (default: shop)
set -euo pipefail

ROLE="${SEGMENTS_PG_ROLE:-segments}"
DATABASE="${SEGMENTS_PG_DATABASE:-shop}"
# A local-only default: never use it for a database reachable from anywhere else.
PASSWORD="${SEGMENTS_PG_PASSWORD:-segments-local}"

log() { echo "start_postgres: $*" >&2; }

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
    as_postgres() { runuser -u postgres -- "$@"; }
else
    SUDO=(sudo)
    as_postgres() { sudo -u postgres -- "$@"; }
fi

# 1. Install (only when absent; seconds from the Debian mirror).
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    log "installing PostgreSQL from the Debian packages"
    "${SUDO[@]}" apt-get update -qq >&2
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi

# 2. The installed major version (15 on Debian 12), not a hard-coded one.
VERSION="$(ls /usr/lib/postgresql | sort -n | tail -n 1)"
if ! pg_lsclusters --no-header 2>/dev/null | awk '{print $1, $2}' | grep -qx "$VERSION main"; then
    log "creating cluster $VERSION/main"
    "${SUDO[@]}" pg_createcluster "$VERSION" main >&2
fi
PORT="$(pg_lsclusters --no-header | awk -v v="$VERSION" '$1 == v && $2 == "main" {print $3}')"

# 3. Start (tolerate "already running").
if pg_lsclusters --no-header | awk -v v="$VERSION" '$1 == v && $2 == "main" {print $4}' \
    | grep -q online; then
    log "cluster $VERSION/main already running on port $PORT"
else
    log "starting cluster $VERSION/main on port $PORT"
    "${SUDO[@]}" pg_ctlcluster "$VERSION" main start >&2
fi
for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p "$PORT" && break
    sleep 1
done
pg_isready -q -h 127.0.0.1 -p "$PORT" || { log "server not ready on 127.0.0.1:$PORT"; exit 1; }

# 4. Role and database (psql variables quote the values, so any password is safe).
psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" "$@"; }
psql_admin -v role="$ROLE" -v pw="$PASSWORD" -d postgres >&2 <<'SQL'
select format('create role %I login superuser', :'role')
where not exists (select 1 from pg_roles where rolname = :'role') \gexec
select format('alter role %I login superuser password %L', :'role', :'pw') \gexec
SQL
psql_admin -v role="$ROLE" -v db="$DATABASE" -d postgres >&2 <<'SQL'
select format('create database %I owner %I', :'db', :'role')
where not exists (select 1 from pg_database where datname = :'db') \gexec
SQL

ENCODED_PASSWORD="$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$PASSWORD")"
log "ready: PostgreSQL $VERSION, role $ROLE, database $DATABASE"
echo "postgresql://${ROLE}:${ENCODED_PASSWORD}@127.0.0.1:${PORT}/${DATABASE}"
