#!/usr/bin/env bash
# PostgreSQL from Debian's package, in a cluster the project owns (own data directory and port).
#   postgres.sh start|stop|restart|kill|status|reset|migrate|psql
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
PGHOME="$CSP_HOME/postgres"

pgbin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }; done
  return 1
}
PGBIN=$(pgbin) || PGBIN=""

# initdb and the server refuse to run as root: they run as the 'postgres' system user, which must
# be able to reach the data directory. Where it cannot (a checkout under a private home), the
# cluster lives under /var/tmp instead, named after this stack.
data_dir() {
  mkdir -p "$PGHOME"
  if runuser -u postgres -- test -x "$PGHOME" 2>/dev/null; then
    echo "$PGHOME/data"
  else
    echo "/var/tmp/csp-postgres-$(printf '%s' "$CSP_HOME" | md5sum | cut -c1-10)/data"
  fi
}

as_pg() { runuser -u postgres -- "$@"; }

start() {
  [ -n "$PGBIN" ] || die "PostgreSQL is not installed: run deploy/local/install.sh (apt-get install postgresql)"
  id postgres >/dev/null 2>&1 || die "system user 'postgres' is missing (reinstall the postgresql package)"
  mkdir -p "$PGHOME"
  local data; data=$(data_dir)
  local run="$(dirname "$data")/run"
  mkdir -p "$data" "$run"
  chown postgres:postgres "$(dirname "$data")" "$data" "$run"
  chmod 700 "$data"
  if as_pg "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    say "PostgreSQL already running on 127.0.0.1:$CSP_PG_PORT ($data)"; return 0
  fi
  port_in_use "$CSP_PG_PORT" && die "port $CSP_PG_PORT is taken by another process; set CSP_PG_PORT"
  if [ ! -f "$data/PG_VERSION" ]; then
    say "initialising PostgreSQL cluster in $data"
    local pw; pw=$(mktemp); printf '%s\n' "$CSP_PG_PASSWORD" > "$pw"; chown postgres "$pw"
    as_pg "$PGBIN/initdb" -D "$data" -U "$CSP_PG_USER" --pwfile="$pw" --auth-local=trust \
      --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$PGHOME/initdb.log" 2>&1 \
      || { rm -f "$pw"; cat "$PGHOME/initdb.log" >&2; die "initdb failed"; }
    rm -f "$pw"
    cat >> "$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
max_connections = 200
shared_buffers = 256MB
fsync = on
synchronous_commit = on
log_min_duration_statement = 1000
CONF
  fi
  say "starting PostgreSQL on 127.0.0.1:$CSP_PG_PORT"
  as_pg "$PGBIN/pg_ctl" -D "$data" -l "$(dirname "$data")/server.log" -w -t 60 \
    -o "-p $CSP_PG_PORT -k $run" start >/dev/null \
    || { tail -n 30 "$(dirname "$data")/server.log" >&2; die "PostgreSQL did not start (log above)"; }
  echo "$data" > "$PGHOME/data-dir"
  if ! as_pg "$PGBIN/psql" -h "$run" -p "$CSP_PG_PORT" -U "$CSP_PG_USER" -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$CSP_PG_DATABASE'" | grep -q 1; then
    as_pg "$PGBIN/createdb" -h "$run" -p "$CSP_PG_PORT" -U "$CSP_PG_USER" "$CSP_PG_DATABASE"
    say "created database $CSP_PG_DATABASE"
  fi
  say "PostgreSQL ready"
}

halt() {  # halt MODE DONE-MESSAGE: pg_ctl stop in that mode if the cluster runs
  [ -n "$PGBIN" ] || return 0
  local data; data=$(data_dir)
  if [ -f "$data/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_pg "$PGBIN/pg_ctl" -D "$data" -m "$1" -w -t 60 stop >/dev/null && say "$2"
  else
    say "PostgreSQL not running"
  fi
}

stop() { halt fast "PostgreSQL stopped"; }

# A crash: immediate shutdown (the postmaster and every backend end at once, nothing is
# checkpointed); the next start replays the WAL. For fault tests.
kill_now() { halt immediate "PostgreSQL killed (immediate shutdown)"; }

status() {
  local data; data=$(data_dir)
  if [ -n "$PGBIN" ] && [ -f "$data/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    say "PostgreSQL running on 127.0.0.1:$CSP_PG_PORT ($data)"
  else say "PostgreSQL stopped"; return 3; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  kill) kill_now ;;
  status) status ;;
  reset) stop; d=$(data_dir); rm -rf "$(dirname "$d")" "$PGHOME"; say "PostgreSQL data removed" ;;
  migrate) "$CSP_PYTHON" -m services.common.migrate ;;
  psql) shift; PGPASSWORD="$CSP_PG_PASSWORD" psql -h 127.0.0.1 -p "$CSP_PG_PORT" -U "$CSP_PG_USER" "$CSP_PG_DATABASE" "$@" ;;
  *) echo "usage: $0 start|stop|restart|kill|status|reset|migrate|psql" >&2; exit 2 ;;
esac
