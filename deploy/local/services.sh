#!/usr/bin/env bash
# Start and stop the platform's own processes (needs Kafka and PostgreSQL up).
#   services.sh start|stop|status [NAME...]   names: intake mapping alerts alerts-api reporting-worker reporting
#   A further copy of a stream worker: NAME@2, NAME@3 ... (mapping, alerts, reporting-worker), in
#   the same consumer group, with its own pid file, log and web port (see copy_port).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
RUN="$CSP_HOME/run"; LOGS="$CSP_HOME/logs"
mkdir -p "$RUN" "$LOGS"
ALL=(intake mapping alerts alerts-api reporting-worker reporting)

# Copies of a stream worker: copy k serves its web port at the first copy's port plus
# (k-1) * CSP_WORKER_COPY_PORT_STEP; its setting (CSP_<NAME>_PORT) is passed in its environment.
WORKERS_WITH_COPIES=(mapping alerts reporting-worker)
export CSP_WORKER_COPY_PORT_STEP="${CSP_WORKER_COPY_PORT_STEP:-100}"
copy_check() {  # copy_check NAME@K: K is 2 or more and NAME a stream worker
  local base=${1%@*} k=${1##*@}
  [[ "$k" =~ ^[0-9]+$ ]] && ((k >= 2)) && [[ " ${WORKERS_WITH_COPIES[*]} " == *" $base "* ]] \
    || die "no copy '$1' (copies: NAME@2, NAME@3 ... of ${WORKERS_WITH_COPIES[*]})"
}
copy_port() { copy_check "$1"; echo $(( $(port_for "${1%@*}") + (${1##*@} - 1) * CSP_WORKER_COPY_PORT_STEP )); }
port_var() { local v=${1//-/_}; echo "CSP_${v^^}_PORT"; }
# Running copies (their pid files), so stop, kill and status without names reach them too.
running_copies() { local f; for f in "$RUN"/*@*.pid; do [ -e "$f" ] && basename "$f" .pid; done; return 0; }

# The HTTP services run under gunicorn (services/common/gunicorn_conf.py): the recorded pid is its
# master, which restarts a worker that dies and stops them all on SIGTERM.
cmd_for() {
  case "$1" in
    *@*) echo "env $(port_var "${1%@*}")=$(copy_port "$1") $(cmd_for "${1%@*}")" ;;
    intake) echo "$CSP_PYTHON -m services.intake api --host 127.0.0.1 --port $CSP_INTAKE_PORT --workers $CSP_INTAKE_WORKERS" ;;
    mapping) echo "$CSP_PYTHON -m services.mapping worker" ;;
    alerts) echo "$CSP_PYTHON -m services.alerts worker" ;;
    alerts-api) echo "$CSP_PYTHON -m services.alerts api --host 127.0.0.1 --port $CSP_ALERTS_API_PORT" ;;
    reporting-worker) echo "$CSP_PYTHON -m services.reporting worker" ;;
    reporting) echo "$CSP_PYTHON -m services.reporting api --host 127.0.0.1 --port $CSP_REPORTING_PORT" ;;
    *) die "unknown service '$1' (known: ${ALL[*]})" ;;
  esac
}
port_for() {
  case "$1" in
    *@*) copy_port "$1" ;;
    intake) echo "$CSP_INTAKE_PORT" ;; mapping) echo "$CSP_MAPPING_PORT" ;; alerts) echo "$CSP_ALERTS_PORT" ;;
    alerts-api) echo "$CSP_ALERTS_API_PORT" ;;
    reporting-worker) echo "$CSP_REPORTING_WORKER_PORT" ;; reporting) echo "$CSP_REPORTING_PORT" ;;
  esac
}
ready_url() { echo "http://127.0.0.1:$(port_for "$1")/readyz"; }
is_ready() { "$CSP_PYTHON" - "$1" <<'PY'
import sys, urllib.request
try:
    sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}

start_one() {
  local name=$1 pidfile="$RUN/$1.pid" port
  if pid_alive "$pidfile"; then say "$name already running (pid $(cat "$pidfile"))"; return 0; fi
  port=$(port_for "$name")
  port_in_use "$port" && die "port $port for $name is taken by another process; set its CSP_*_PORT"
  # shellcheck disable=SC2046
  # exec all the way down, so the recorded pid is the service itself (not a wrapper shell).
  (cd "$CSP_HOME" && exec setsid nohup $(cmd_for "$name") >>"$LOGS/$name.log" 2>&1 < /dev/null) &
  echo $! > "$pidfile"
  say "started $name (pid $(cat "$pidfile"), port $port, log $LOGS/$name.log)"
}

wait_ready() {
  local name=$1 i
  for ((i = 0; i < ${CSP_READY_TIMEOUT:-90}; i++)); do
    if is_ready "$(ready_url "$name")"; then say "$name ready: $(ready_url "$name")"; return 0; fi
    if ! pid_alive "$RUN/$name.pid"; then tail -n 40 "$LOGS/$name.log" >&2 || true; die "$name exited during start-up (log above)"; fi
    sleep 1
  done
  tail -n 40 "$LOGS/$name.log" >&2 || true
  die "$name did not become ready within ${CSP_READY_TIMEOUT:-90}s (log above)"
}

action=${1:-}; shift || true
names=("$@"); [ ${#names[@]} -eq 0 ] && names=("${ALL[@]}")
if [ $# -eq 0 ] && [ "$action" != start ]; then mapfile -t -O "${#names[@]}" names < <(running_copies); fi
case "$action" in
  start) for n in "${names[@]}"; do start_one "$n"; done; for n in "${names[@]}"; do wait_ready "$n"; done ;;
  stop) # TERM them all first so they drain in parallel, then wait for each (SIGKILL after 30s).
        for n in "${names[@]}"; do pid_alive "$RUN/$n.pid" && kill -TERM "$(cat "$RUN/$n.pid")" 2>/dev/null; done
        for n in "${names[@]}"; do stop_pidfile "$RUN/$n.pid" "$n" 30; done ;;
  kill) # SIGKILL, then wait until the process is gone: until then it holds its port, and a start
        # right after would find the port taken. Each service leads its own process group (setsid):
        # the group goes, workers included.
        for n in "${names[@]}"; do
          if pid_alive "$RUN/$n.pid"; then
            pid=$(cat "$RUN/$n.pid"); kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"; say "$n killed (SIGKILL)"
            for ((i = 0; i < 40; i++)); do exited "$pid" && group_gone "$pid" && break; sleep 0.25; done
          fi
          rm -f "$RUN/$n.pid"; done ;;
  status) rc=0; for n in "${names[@]}"; do
            if pid_alive "$RUN/$n.pid"; then
              if is_ready "$(ready_url "$n")"; then say "$n running and ready (pid $(cat "$RUN/$n.pid"))"
              else say "$n running, not ready (pid $(cat "$RUN/$n.pid"))"; rc=1; fi
            else say "$n stopped"; rc=3; fi; done; exit $rc ;;
  *) echo "usage: $0 start|stop|kill|status [${ALL[*]}]" >&2; exit 2 ;;
esac
