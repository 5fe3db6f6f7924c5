#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on loopback for the tests, from Debian's packages.
# Usage: source .ci/postgres.sh   (sets ARTICLES_TEST_POSTGRES; the server stops when the shell exits)
set -euo pipefail

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
pg_bin=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
pg_data=$(mktemp -d /tmp/articles-postgres.XXXXXX)
pg_port=54329

# PostgreSQL refuses to run as root: run it as the postgres user the package creates.
as_server_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" = 0 ] && chown postgres "$pg_data"
as_server_user "$pg_bin/initdb" -D "$pg_data" -A trust -U postgres -E UTF8 >/dev/null
as_server_user "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_data/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_data -c fsync=off" start >/dev/null

stop_postgres() {
  as_server_user "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null || true
  rm -rf "$pg_data"
}
trap stop_postgres EXIT

export ARTICLES_TEST_POSTGRES="postgresql://postgres@127.0.0.1:$pg_port/postgres"
export ARTICLES_REQUIRE_POSTGRES=1  # CI must run the PostgreSQL tests, never skip them
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port"
