# Shared settings for the local runner scripts. Every value can be overridden from the environment.
# shellcheck shell=bash
CSP_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export CSP_REPO
export CSP_HOME="${CSP_HOME:-$CSP_REPO/.local/stack}"          # data, logs, pids of one stack
export CSP_CACHE="${CSP_CACHE:-$CSP_REPO/.local/cache}"        # downloaded jars, shared by stacks
export CSP_KAFKA_VERSION="${CSP_KAFKA_VERSION:-3.9.1}"
export CSP_KAFKA_PORT="${CSP_KAFKA_PORT:-19092}"
export CSP_KAFKA_CONTROLLER_PORT="${CSP_KAFKA_CONTROLLER_PORT:-19093}"
export CSP_KAFKA_HEAP="${CSP_KAFKA_HEAP:-768m}"
export CSP_PG_PORT="${CSP_PG_PORT:-15432}"
export CSP_PG_USER="${CSP_PG_USER:-csp}"
export CSP_PG_PASSWORD="${CSP_PG_PASSWORD:-csp-local-only}"
export CSP_PG_DATABASE="${CSP_PG_DATABASE:-csp}"
export CSP_INTAKE_PORT="${CSP_INTAKE_PORT:-8081}"
# Intake's worker processes (gunicorn workers, services/common/gunicorn_conf.py); one per core of a two-core machine.
export CSP_INTAKE_WORKERS="${CSP_INTAKE_WORKERS:-2}"
export CSP_MAPPING_PORT="${CSP_MAPPING_PORT:-8082}"
export CSP_ALERTS_PORT="${CSP_ALERTS_PORT:-8083}"
export CSP_REPORTING_PORT="${CSP_REPORTING_PORT:-8084}"
export CSP_REPORTING_WORKER_PORT="${CSP_REPORTING_WORKER_PORT:-8085}"
export CSP_ALERTS_API_PORT="${CSP_ALERTS_API_PORT:-8086}"
# Where the reporting web process calls intake and the alerts API as a signed-in session's own key
# (the partner portal, the dashboard's actions: services/reporting/delegate.py).
export CSP_INTAKE_URL="${CSP_INTAKE_URL:-http://127.0.0.1:$CSP_INTAKE_PORT}"
export CSP_ALERTS_API_URL="${CSP_ALERTS_API_URL:-http://127.0.0.1:$CSP_ALERTS_API_PORT}"
# Operations (deploy/local/ops.sh): Kafka's JMX exporter agent, Prometheus, Alertmanager and the
# local receiver of Alertmanager's notifications.
export CSP_KAFKA_METRICS_PORT="${CSP_KAFKA_METRICS_PORT:-19094}"
export CSP_PROMETHEUS_PORT="${CSP_PROMETHEUS_PORT:-9090}"
export CSP_ALERTMANAGER_PORT="${CSP_ALERTMANAGER_PORT:-9093}"
export CSP_ALERTMANAGER_RECEIVER_PORT="${CSP_ALERTMANAGER_RECEIVER_PORT:-9095}"
# Webhooks reach the public internet only; loopback receivers the operator names ("host:port,...")
# are the one exception (the test stacks name their own; make up names none).
export CSP_ALERTS_WEBHOOK_RECEIVERS="${CSP_ALERTS_WEBHOOK_RECEIVERS:-}"
# The cluster profile (deploy/local/kafka.sh): CSP_KAFKA_BROKERS=3 runs three KRaft nodes, each
# broker and controller, node n on the ports above plus (n-1) * CSP_KAFKA_NODE_PORT_STEP, with
# topics replicated three times and min.insync.replicas=2. One broker is the default.
export CSP_KAFKA_BROKERS="${CSP_KAFKA_BROKERS:-1}"
export CSP_KAFKA_NODE_PORT_STEP="${CSP_KAFKA_NODE_PORT_STEP:-10}"
# CSP_KAFKA_PARTITION_NODE=n (cluster profile only): node n runs in a network namespace of its own,
# joined to the machine by a veth pair, so that `kafka.sh partition n` cuts it off from every other
# node and client and `kafka.sh heal n` joins it again. The nodes then listen on the pair's
# addresses, CSP_KAFKA_NETNS_NET.2 for node n and CSP_KAFKA_NETNS_NET.1 for the others, instead of
# 127.0.0.1. Needs root (ip netns, ip link). The pair's /30 is 10.<port / 256>.<port % 256>.0, one
# per Kafka port, so stacks on other port bases (and a namespace one of them left behind) never
# claim the same addresses.
export CSP_KAFKA_PARTITION_NODE="${CSP_KAFKA_PARTITION_NODE:-}"
export CSP_KAFKA_NETNS_NET="${CSP_KAFKA_NETNS_NET:-10.$((CSP_KAFKA_PORT / 256)).$((CSP_KAFKA_PORT % 256))}"
kafka_node_host() {  # kafka_node_host NODE: the address the node listens on and advertises
  if [ -z "$CSP_KAFKA_PARTITION_NODE" ]; then echo 127.0.0.1
  elif [ "$1" = "$CSP_KAFKA_PARTITION_NODE" ]; then echo "$CSP_KAFKA_NETNS_NET.2"
  else echo "$CSP_KAFKA_NETNS_NET.1"; fi
}
if [ "$CSP_KAFKA_BROKERS" -gt 1 ]; then
  export CSP_KAFKA_NODE_HEAP="${CSP_KAFKA_NODE_HEAP:-384m}"
  export CSP_KAFKA_REPLICATION="${CSP_KAFKA_REPLICATION:-$((CSP_KAFKA_BROKERS < 3 ? CSP_KAFKA_BROKERS : 3))}"
  export CSP_KAFKA_MIN_INSYNC="${CSP_KAFKA_MIN_INSYNC:-$((CSP_KAFKA_REPLICATION > 1 ? 2 : 1))}"
  # The stream workers refresh their metadata every 10 s (CSP_KAFKA_METADATA_MAX_AGE_MS, every
  # profile): aiokafka retries an offset lookup answered "not the leader" without refreshing it,
  # so after a leader moves a worker could stall until then (deploy/README-ops.md).
  if [ -z "${CSP_KAFKA_BOOTSTRAP:-}" ]; then
    CSP_KAFKA_BOOTSTRAP=$(for ((n = 0; n < CSP_KAFKA_BROKERS; n++)); do
      printf '%s:%s,' "$(kafka_node_host $((n + 1)))" $((CSP_KAFKA_PORT + n * CSP_KAFKA_NODE_PORT_STEP)); done)
    export CSP_KAFKA_BOOTSTRAP="${CSP_KAFKA_BOOTSTRAP%,}"
  fi
fi
export CSP_KAFKA_BOOTSTRAP="${CSP_KAFKA_BOOTSTRAP:-127.0.0.1:$CSP_KAFKA_PORT}"
export CSP_PG_DSN="${CSP_PG_DSN:-postgresql://$CSP_PG_USER:$CSP_PG_PASSWORD@127.0.0.1:$CSP_PG_PORT/$CSP_PG_DATABASE}"
export CSP_PYTHON="${CSP_PYTHON:-$CSP_REPO/.venv/bin/python}"
KAFKA_LIBS="$CSP_CACHE/kafka-$CSP_KAFKA_VERSION/libs"

say()  { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die()  { printf '[%s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND once a second until it succeeds.
wait_for() {  # wait_for SECONDS WHAT CHECK...: true once CHECK succeeds, false after SECONDS of wall clock
  local seconds=$1 what=$2; shift 2
  local deadline=$((SECONDS + seconds))
  while ((SECONDS < deadline)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  "$@" >/dev/null 2>&1  # one last look at the deadline
}

# pid_alive FILE: the process recorded in FILE is running (a zombie, killed and not yet reaped, is not).
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null && ! exited "$(cat "$1")"; }

# exited PID: true once the process has ended; a zombie (not yet reaped) has ended and closed its sockets.
exited() { local state; state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0; [ -z "$state" ] || [ "$state" = Z ]; }

# group_gone PGID: no process of the group is left (zombies aside): a service's workers included.
group_gone() { ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ {left = 1} END {exit left}'; }

stop_pidfile() {  # stop_pidfile FILE NAME [SECONDS]: TERM, wait, then KILL
  local file=$1 name=$2 seconds=${3:-30} pid i
  if ! pid_alive "$file"; then rm -f "$file"; return 0; fi
  pid=$(cat "$file")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < seconds * 4; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$file"; say "$name stopped"; return 0; }
    sleep 0.25
  done
  say "$name did not stop in ${seconds}s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$file"
}
export PYTHONPATH="$CSP_REPO${PYTHONPATH:+:$PYTHONPATH}"
