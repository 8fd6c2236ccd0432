#!/usr/bin/env bash
# What operations staff watch: Prometheus scraping the six processes and the broker with the
# project's recording and alerting rules, Alertmanager routing the platform's alerts to a local
# receiver that writes each notification to $CSP_HOME/logs/alertmanager-receiver.log.
#   ops.sh start|stop|status|reset
# Debian's binaries (packages prometheus and prometheus-alertmanager) run here as the stack's own
# processes, on the stack's ports, with pid files under $CSP_HOME; the packages' system services
# are not used.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
PHOME="$CSP_HOME/prometheus"; AHOME="$CSP_HOME/alertmanager"; LOGS="$CSP_HOME/logs"
PROMETHEUS=${CSP_PROMETHEUS_BIN:-/usr/bin/prometheus}
ALERTMANAGER=${CSP_ALERTMANAGER_BIN:-/usr/bin/prometheus-alertmanager}
PROMETHEUS_URL="http://127.0.0.1:$CSP_PROMETHEUS_PORT"
ALERTMANAGER_URL="http://127.0.0.1:$CSP_ALERTMANAGER_PORT"
NOTIFICATIONS="$LOGS/alertmanager-receiver.log"

# http_ok PORT PATH: a GET on 127.0.0.1:PORT answers 200 (bash's /dev/tcp: no HTTP client needed).
http_ok() (
  exec 3<>"/dev/tcp/127.0.0.1/$1" 2>/dev/null || exit 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
  read -r -t 5 _ status _ <&3 || exit 1
  [ "$status" = 200 ]
)

# launch PIDFILE LOG COMMAND...: start COMMAND in its own session, record its pid.
launch() {
  local pidfile=$1 log=$2; shift 2
  setsid nohup "$@" >>"$log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
}

# await NAME PIDFILE LOG PORT PATH: wait until it answers 200, or fail with its log.
await() {
  local name=$1 pidfile=$2 log=$3 port=$4 path=$5
  ready_or_exited() { ! pid_alive "$pidfile" || http_ok "$port" "$path"; }
  if ! wait_for 60 "$name" ready_or_exited || ! pid_alive "$pidfile"; then
    tail -n 30 "$log" >&2 || true
    pid_alive "$pidfile" || die "$name exited during start-up (log above)"
    die "$name did not become ready in 60s (log above)"
  fi
  say "$name ready (pid $(cat "$pidfile")): http://127.0.0.1:$port"
}

check_port() {  # check_port PORT VARIABLE
  port_in_use "$1" || return 0
  die "port $1 is taken by another process; set $2 (a system service of Debian's package? \
'service prometheus stop' / 'service prometheus-alertmanager stop')"
}

start_receiver() {
  local pidfile="$AHOME/receiver.pid"
  if pid_alive "$pidfile"; then say "alert receiver already running (pid $(cat "$pidfile"))"; return 0; fi
  check_port "$CSP_ALERTMANAGER_RECEIVER_PORT" CSP_ALERTMANAGER_RECEIVER_PORT
  say "starting the alert receiver on 127.0.0.1:$CSP_ALERTMANAGER_RECEIVER_PORT (notifications: $NOTIFICATIONS)"
  launch "$pidfile" "$AHOME/receiver.out" "$CSP_PYTHON" -m deploy.local.alert_receiver \
    --port "$CSP_ALERTMANAGER_RECEIVER_PORT" --log "$NOTIFICATIONS"
  await "alert receiver" "$pidfile" "$AHOME/receiver.out" "$CSP_ALERTMANAGER_RECEIVER_PORT" /healthz
}

start_alertmanager() {
  local pidfile="$AHOME/alertmanager.pid" config="$AHOME/alertmanager.yml"
  if pid_alive "$pidfile"; then say "Alertmanager already running (pid $(cat "$pidfile"))"; return 0; fi
  check_port "$CSP_ALERTMANAGER_PORT" CSP_ALERTMANAGER_PORT
  "$CSP_PYTHON" -m deploy.local.ops_config alertmanager "$config"
  amtool check-config "$config" >"$AHOME/check.log" 2>&1 || { cat "$AHOME/check.log" >&2; die "Alertmanager configuration is invalid"; }
  say "starting Alertmanager on $ALERTMANAGER_URL (config $config)"
  # --cluster.listen-address= : one Alertmanager, no gossip port (its cluster mode is off).
  launch "$pidfile" "$LOGS/alertmanager.log" "$ALERTMANAGER" --config.file="$config" \
    --storage.path="$AHOME/data" --web.listen-address="127.0.0.1:$CSP_ALERTMANAGER_PORT" \
    --web.external-url="$ALERTMANAGER_URL" --cluster.listen-address=
  await Alertmanager "$pidfile" "$LOGS/alertmanager.log" "$CSP_ALERTMANAGER_PORT" /-/ready
}

start_prometheus() {
  local pidfile="$PHOME/prometheus.pid" config="$PHOME/prometheus.yml"
  if pid_alive "$pidfile"; then say "Prometheus already running (pid $(cat "$pidfile"))"; return 0; fi
  check_port "$CSP_PROMETHEUS_PORT" CSP_PROMETHEUS_PORT
  "$CSP_PYTHON" -m deploy.local.ops_config prometheus "$config"
  promtool check config "$config" >"$PHOME/check.log" 2>&1 || { cat "$PHOME/check.log" >&2; die "Prometheus configuration is invalid"; }
  say "starting Prometheus on $PROMETHEUS_URL (config $config)"
  launch "$pidfile" "$LOGS/prometheus.log" "$PROMETHEUS" --config.file="$config" \
    --storage.tsdb.path="$PHOME/data" --storage.tsdb.retention.time=15d \
    --web.listen-address="127.0.0.1:$CSP_PROMETHEUS_PORT" --web.external-url="$PROMETHEUS_URL"
  await Prometheus "$pidfile" "$LOGS/prometheus.log" "$CSP_PROMETHEUS_PORT" /-/ready
}

start() {
  for bin in "$PROMETHEUS" "$ALERTMANAGER"; do
    [ -x "$bin" ] || die "$bin is missing: run deploy/local/install.sh (Debian packages prometheus, prometheus-alertmanager)"
  done
  command -v promtool >/dev/null && command -v amtool >/dev/null || die "promtool/amtool missing: run deploy/local/install.sh"
  mkdir -p "$PHOME/data" "$AHOME/data" "$LOGS"
  start_receiver
  start_alertmanager
  start_prometheus
}

stop() {
  stop_pidfile "$PHOME/prometheus.pid" Prometheus 30
  stop_pidfile "$AHOME/alertmanager.pid" Alertmanager 30
  stop_pidfile "$AHOME/receiver.pid" "alert receiver" 10
}

status() {
  local rc=0 name pidfile port path
  while read -r name pidfile port path; do
    if pid_alive "$pidfile"; then
      if http_ok "$port" "$path"; then say "$name running and ready (pid $(cat "$pidfile")) on http://127.0.0.1:$port"
      else say "$name running (pid $(cat "$pidfile")), not ready"; rc=1; fi
    else say "$name stopped"; rc=3; fi
  done <<EOF
Prometheus $PHOME/prometheus.pid $CSP_PROMETHEUS_PORT /-/ready
Alertmanager $AHOME/alertmanager.pid $CSP_ALERTMANAGER_PORT /-/ready
alert-receiver $AHOME/receiver.pid $CSP_ALERTMANAGER_RECEIVER_PORT /healthz
EOF
  return $rc
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  reset) stop; rm -rf "$PHOME" "$AHOME"; say "Prometheus and Alertmanager data removed" ;;
  *) echo "usage: $0 start|stop|status|reset" >&2; exit 2 ;;
esac
