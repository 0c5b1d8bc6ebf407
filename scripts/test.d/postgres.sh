# Sourced by scripts/test: a private PostgreSQL 15 cluster for the center's tests.
# Idempotent: reuses a running cluster. Exports KIOSK_TEST_PG_URL.
# shellcheck shell=bash
kiosk_pg_setup() {
  local bin=/usr/lib/postgresql/15/bin dir=/tmp/kiosk-test-pg port=54329 db=kiosk_test
  if [ ! -x "$bin/pg_ctl" ]; then
    echo "postgres.sh: PostgreSQL 15 not installed; PostgreSQL tests skipped" >&2
    return 0
  fi
  local as=()
  if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
  if [ ! -s "$dir/data/PG_VERSION" ]; then
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || { echo "postgres.sh: initdb failed, see $dir/initdb.log" >&2; return 0; }
  fi
  if ! "${as[@]}" "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" \
      start >/dev/null \
      || { echo "postgres.sh: server did not start, see $dir/server.log" >&2; return 0; }
  fi
  if ! "${as[@]}" "$bin/../bin/psql" -h "$dir" -p "$port" -U postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname='$db'" postgres 2>/dev/null | grep -q 1; then
    "${as[@]}" /usr/lib/postgresql/15/bin/createdb -h "$dir" -p "$port" -U postgres "$db" \
      || { echo "postgres.sh: createdb failed" >&2; return 0; }
  fi
  export KIOSK_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/$db"
}
kiosk_pg_setup
