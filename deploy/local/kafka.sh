#!/usr/bin/env bash
# Apache Kafka, KRaft single node, from Maven Central jars, run with the machine's Java.
#   kafka.sh fetch|start|stop|status|reset|kill|topics
# The cluster profile, CSP_KAFKA_BROKERS=3 (deploy/local/env.sh): three KRaft nodes, each both
# broker and controller (one voter each in a quorum of three), under $CSP_HOME/kafka/node-<n>.
#   kafka.sh start|stop|kill|status [NODE...]   (no NODE: every node)   kafka.sh fetch|reset|topics
#   kafka.sh partition|heal NODE   (the node of CSP_KAFKA_PARTITION_NODE, in a namespace of its own)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
KHOME="$CSP_HOME/kafka"
PIDFILE="$KHOME/kafka.pid"
POM="$CSP_REPO/deploy/local/kafka/pom.xml"
# The Prometheus JMX exporter's Java agent serves the broker's metrics (version: pom.xml).
JMX_EXPORTER_VERSION=$(sed -n 's:.*<jmx.exporter.version>\(.*\)</jmx.exporter.version>.*:\1:p' "$POM")
JMX_EXPORTER_JAR="$CSP_CACHE/jmx-exporter-$JMX_EXPORTER_VERSION/jmx_prometheus_javaagent-$JMX_EXPORTER_VERSION.jar"
JMX_EXPORTER_RULES="$CSP_REPO/deploy/local/kafka/jmx-exporter.yml"

fetch() { fetch_kafka; fetch_jmx_exporter; }

fetch_jmx_exporter() {
  if [ -f "$JMX_EXPORTER_JAR" ]; then return 0; fi
  command -v mvn >/dev/null || die "Maven is missing: run deploy/local/install.sh (installs maven)"
  say "fetching the Prometheus JMX exporter agent $JMX_EXPORTER_VERSION from Maven Central"
  if ! mvn -q -B -f "$POM" dependency:copy@jmx-exporter -DoutputDirectory="$(dirname "$JMX_EXPORTER_JAR")" \
      > "$CSP_CACHE/maven-fetch-jmx-exporter.log" 2>&1 || [ ! -f "$JMX_EXPORTER_JAR" ]; then
    tail -n 20 "$CSP_CACHE/maven-fetch-jmx-exporter.log" >&2
    die "Maven could not fetch the JMX exporter agent; full log: $CSP_CACHE/maven-fetch-jmx-exporter.log"
  fi
}

fetch_kafka() {
  if [ -f "$KAFKA_LIBS/.complete" ]; then return 0; fi
  command -v java >/dev/null || die "Java is missing: run deploy/local/install.sh (installs openjdk-17-jre-headless)"
  command -v mvn >/dev/null || die "Maven is missing: run deploy/local/install.sh (installs maven)"
  say "fetching Apache Kafka $CSP_KAFKA_VERSION jars from Maven Central into $KAFKA_LIBS"
  mkdir -p "$KAFKA_LIBS"
  if ! mvn -q -B -f "$POM" -Dkafka.version="$CSP_KAFKA_VERSION" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" \
      > "$CSP_CACHE/maven-fetch.log" 2>&1; then
    tail -n 20 "$CSP_CACHE/maven-fetch.log" >&2
    die "Maven could not fetch Kafka (is Maven Central reachable?); full log: $CSP_CACHE/maven-fetch.log"
  fi
  touch "$KAFKA_LIBS/.complete"
  say "fetched $(ls "$KAFKA_LIBS"/*.jar | wc -l) jars"
}

kjava() { java -Xmx256m -cp "$KAFKA_LIBS/*" -Dlog4j.configuration="file:$KHOME/log4j.properties" "$@"; }

render_config() {
  mkdir -p "$KHOME/data" "$KHOME/logs"
  cat > "$KHOME/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CSP_KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$CSP_KAFKA_PORT,CONTROLLER://127.0.0.1:$CSP_KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$CSP_KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KHOME/data
num.partitions=6
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
# Topics come from contracts/topics.py (services/common/topics.py), never from a typo.
auto.create.topics.enable=false
log.retention.hours=720
PROPS
  render_log4j "$KHOME"
}

render_log4j() {  # render_log4j DIR: the broker's log4j configuration, logging to DIR/logs
  local dir=$1
  cat > "$dir/log4j.properties" <<PROPS
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$dir/logs/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=3
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.state.change.logger=WARN
PROPS
}

ready() { "$CSP_PYTHON" -m services.common.topics --check-broker >/dev/null 2>&1; }
ready_or_exited() { ! pid_alive "$PIDFILE" || ready; }

start() {
  command -v java >/dev/null || die "Java is missing: run deploy/local/install.sh"
  if pid_alive "$PIDFILE"; then say "Kafka already running (pid $(cat "$PIDFILE")) on $CSP_KAFKA_BOOTSTRAP"; return 0; fi
  for p in "$CSP_KAFKA_PORT" "$CSP_KAFKA_CONTROLLER_PORT" "$CSP_KAFKA_METRICS_PORT"; do
    port_in_use "$p" && die "port $p is taken by another process; set CSP_KAFKA_PORT / CSP_KAFKA_CONTROLLER_PORT / CSP_KAFKA_METRICS_PORT"
  done
  fetch
  render_config
  if [ ! -f "$KHOME/data/meta.properties" ]; then
    local cluster_id
    cluster_id=$(kjava kafka.tools.StorageTool random-uuid)
    say "formatting KRaft log directory (cluster $cluster_id)"
    kjava kafka.tools.StorageTool format -t "$cluster_id" -c "$KHOME/server.properties" >"$KHOME/logs/format.log" 2>&1 \
      || { cat "$KHOME/logs/format.log" >&2; die "kafka storage format failed"; }
  fi
  say "starting Kafka $CSP_KAFKA_VERSION (KRaft) on $CSP_KAFKA_BOOTSTRAP, metrics on 127.0.0.1:$CSP_KAFKA_METRICS_PORT"
  # setsid: the broker outlives the shell that started it and gets no terminal signals.
  setsid nohup java -Xms256m -Xmx"$CSP_KAFKA_HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
    -javaagent:"$JMX_EXPORTER_JAR=127.0.0.1:$CSP_KAFKA_METRICS_PORT:$JMX_EXPORTER_RULES" \
    -Dlog4j.configuration="file:$KHOME/log4j.properties" -Dkafka.logs.dir="$KHOME/logs" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KHOME/server.properties" \
    >"$KHOME/logs/stdout.log" 2>&1 < /dev/null &
  echo $! > "$PIDFILE"
  # Stop waiting as soon as the broker is ready or has exited (a port taken meanwhile, bad config).
  if ! wait_for 90 "Kafka" ready_or_exited || ! pid_alive "$PIDFILE"; then
    tail -n 30 "$KHOME/logs/server.log" "$KHOME/logs/stdout.log" >&2 || true
    pid_alive "$PIDFILE" || die "Kafka exited during start-up (logs above)"
    die "Kafka did not become ready in 90s (logs above)"
  fi
  say "Kafka ready (pid $(cat "$PIDFILE"))"
}

stop() { stop_pidfile "$PIDFILE" Kafka 60; }

status() {
  if pid_alive "$PIDFILE"; then
    if ready; then say "Kafka running and ready (pid $(cat "$PIDFILE")) on $CSP_KAFKA_BOOTSTRAP"
    else say "Kafka running (pid $(cat "$PIDFILE")) but not answering on $CSP_KAFKA_BOOTSTRAP"; return 1; fi
  else say "Kafka stopped"; return 3; fi
}

# --- The cluster profile (CSP_KAFKA_BROKERS > 1) ---------------------------------------------
# Node n (1-based) listens on the single node's ports plus (n-1) * CSP_KAFKA_NODE_PORT_STEP. Every
# node is broker and controller: three JVMs of CSP_KAFKA_NODE_HEAP fit two cores and a few GiB
# (a separate controller quorum would take six). The quorum survives one node down; with two down
# the last broker keeps serving reads it leads, and acks=all writes fail (min.insync.replicas=2).
node_port() { echo $(($1 + ($2 - 1) * CSP_KAFKA_NODE_PORT_STEP)); }   # node_port BASE NODE
node_dir() { echo "$KHOME/node-$1"; }
nodes() { seq 1 "$CSP_KAFKA_BROKERS"; }

render_node() {
  local n=$1 dir voters="" m host
  dir=$(node_dir "$n"); host=$(kafka_node_host "$n")
  mkdir -p "$dir/data" "$dir/logs"
  for m in $(nodes); do voters+="$m@$(kafka_node_host "$m"):$(node_port "$CSP_KAFKA_CONTROLLER_PORT" "$m"),"; done
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=${voters%,}
listeners=PLAINTEXT://$host:$(node_port "$CSP_KAFKA_PORT" "$n"),CONTROLLER://$host:$(node_port "$CSP_KAFKA_CONTROLLER_PORT" "$n")
advertised.listeners=PLAINTEXT://$host:$(node_port "$CSP_KAFKA_PORT" "$n")
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=6
default.replication.factor=$CSP_KAFKA_REPLICATION
min.insync.replicas=$CSP_KAFKA_MIN_INSYNC
offsets.topic.replication.factor=$CSP_KAFKA_REPLICATION
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=$CSP_KAFKA_REPLICATION
transaction.state.log.min.isr=$CSP_KAFKA_MIN_INSYNC
# A replica that lost its leader never becomes leader with records missing.
unclean.leader.election.enable=false
group.initial.rebalance.delay.ms=0
# Topics come from contracts/topics.py (services/common/topics.py), never from a typo.
auto.create.topics.enable=false
log.retention.hours=720
PROPS
  render_log4j "$dir"
}

# node_ready NODE: the node answers on its own port and the cluster counts it among its live
# (unfenced) brokers, so it serves and replicates again.
node_ready() {
  "$CSP_PYTHON" - "$1" "$(kafka_node_host "$1"):$(node_port "$CSP_KAFKA_PORT" "$1")" <<'PY' >/dev/null 2>&1
import sys
from kafka import KafkaAdminClient
admin = KafkaAdminClient(bootstrap_servers=sys.argv[2], request_timeout_ms=3000, client_id="csp-ready")
try:
    live = {b["broker_id"] for b in admin.describe_cluster()["brokers"]}
finally:
    admin.close()
sys.exit(0 if int(sys.argv[1]) in live else 1)
PY
}
node_ready_or_exited() { ! pid_alive "$(node_dir "$1")/kafka.pid" || node_ready "$1"; }

cluster_start() {
  command -v java >/dev/null || die "Java is missing: run deploy/local/install.sh"
  local n dir pidfile cluster_id="" started=()
  fetch
  mkdir -p "$KHOME/logs"; render_log4j "$KHOME"   # the storage tool's own logging (kjava)
  # Every node listens on the pair's addresses: the namespace and its pair come first. The
  # partitionable node's ports are free in a namespace of its own, so only the others' are checked.
  if [ -n "$CSP_KAFKA_PARTITION_NODE" ]; then netns_up; fi
  for n in "$@"; do
    dir=$(node_dir "$n"); pidfile="$dir/kafka.pid"
    if pid_alive "$pidfile"; then say "Kafka node $n already running (pid $(cat "$pidfile"))"; continue; fi
    [ "$n" = "$CSP_KAFKA_PARTITION_NODE" ] || for p in "$(node_port "$CSP_KAFKA_PORT" "$n")" "$(node_port "$CSP_KAFKA_CONTROLLER_PORT" "$n")" \
             "$(node_port "$CSP_KAFKA_METRICS_PORT" "$n")"; do
      port_in_use "$p" && die "port $p (Kafka node $n) is taken by another process; set CSP_KAFKA_PORT / CSP_KAFKA_CONTROLLER_PORT / CSP_KAFKA_METRICS_PORT / CSP_KAFKA_NODE_PORT_STEP"
    done
    render_node "$n"
    if [ ! -f "$dir/data/meta.properties" ]; then
      # Every node of the cluster is formatted with the one cluster id.
      [ -f "$KHOME/cluster-id" ] || kjava kafka.tools.StorageTool random-uuid > "$KHOME/cluster-id"
      cluster_id=$(cat "$KHOME/cluster-id")
      say "formatting KRaft log directory of node $n (cluster $cluster_id)"
      kjava kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" >"$dir/logs/format.log" 2>&1 \
        || { cat "$dir/logs/format.log" >&2; die "kafka storage format failed (node $n)"; }
    fi
    launch_node "$n"
    started+=("$n")
  done
  # The nodes wait for each other (a quorum needs two voters): start them all, then wait for each.
  local attempt
  for n in "${started[@]}"; do
    dir=$(node_dir "$n")
    for attempt in 1 2 3; do
      if wait_for 120 "Kafka node $n" node_ready_or_exited "$n" && pid_alive "$dir/kafka.pid"; then break; fi
      # The ports lie in the ephemeral range on some port bases: an outgoing connection of any
      # process may hold one between the check above and the bind. Try again on a fresh start.
      if ! pid_alive "$dir/kafka.pid" && ((attempt < 3)) \
          && { grep -qs "Address already in use" "$dir/logs/stdout.log" \
               || tail -n 200 "$dir/logs/server.log" 2>/dev/null | grep -q "Address already in use"; }; then
        say "Kafka node $n found a port taken as it started (an outgoing connection's port); starting it again"
        sleep 2; launch_node "$n"; continue
      fi
      tail -n 30 "$dir/logs/server.log" "$dir/logs/stdout.log" >&2 || true
      pid_alive "$dir/kafka.pid" || die "Kafka node $n exited during start-up (logs above)"
      die "Kafka node $n did not become ready in 120s (logs above)"
    done
    say "Kafka node $n ready (pid $(cat "$dir/kafka.pid"))"
  done
}

launch_node() {  # launch_node NODE: start its JVM in the background, record its pid
  local n=$1 dir host in_netns=()
  dir=$(node_dir "$n"); host=$(kafka_node_host "$n")
  [ "$n" = "$CSP_KAFKA_PARTITION_NODE" ] && in_netns=(ip netns exec "$NETNS")
  say "starting Kafka node $n on $host:$(node_port "$CSP_KAFKA_PORT" "$n"), metrics on $host:$(node_port "$CSP_KAFKA_METRICS_PORT" "$n")"
  # ip netns exec enters the namespace and execs java: the recorded pid is the JVM's.
  setsid nohup "${in_netns[@]}" java -Xms128m -Xmx"$CSP_KAFKA_NODE_HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
    -javaagent:"$JMX_EXPORTER_JAR=$host:$(node_port "$CSP_KAFKA_METRICS_PORT" "$n"):$JMX_EXPORTER_RULES" \
    -Dlog4j.configuration="file:$dir/log4j.properties" -Dkafka.logs.dir="$dir/logs" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$dir/server.properties" \
    >"$dir/logs/stdout.log" 2>&1 < /dev/null &
  echo $! > "$dir/kafka.pid"
}

cluster_status() {
  local n rc=0 pidfile
  for n in "$@"; do
    pidfile="$(node_dir "$n")/kafka.pid"
    if pid_alive "$pidfile"; then
      if node_ready "$n"; then say "Kafka node $n running and ready (pid $(cat "$pidfile")) on $(kafka_node_host "$n"):$(node_port "$CSP_KAFKA_PORT" "$n")"
      else say "Kafka node $n running (pid $(cat "$pidfile")) but not live in the cluster"; rc=1; fi
    else say "Kafka node $n stopped"; rc=3; fi
  done
  return $rc
}

# TERM every node first so they shut down together: one by one, the last nodes would wait for a
# quorum that has already gone (SIGKILL after 60s).
cluster_stop() {
  local n
  for n in "$@"; do pid_alive "$(node_dir "$n")/kafka.pid" && kill -TERM "$(cat "$(node_dir "$n")/kafka.pid")" 2>/dev/null; done
  for n in "$@"; do stop_pidfile "$(node_dir "$n")/kafka.pid" "Kafka node $n" 60; done
}

cluster_kill() {
  local n pidfile pid i
  for n in "$@"; do
    pidfile="$(node_dir "$n")/kafka.pid"
    if pid_alive "$pidfile"; then
      pid=$(cat "$pidfile"); kill -KILL "$pid"; say "Kafka node $n killed (SIGKILL)"
      for ((i = 0; i < 40; i++)); do exited "$pid" && break; sleep 0.25; done
    fi
    rm -f "$pidfile"
  done
}

# The partitionable node's namespace and its veth pair (CSP_KAFKA_PARTITION_NODE, env.sh).
NETNS="csp-kafka-$CSP_KAFKA_PORT"; VETH_HOST="ck${CSP_KAFKA_PORT}h"; VETH_NODE="ck${CSP_KAFKA_PORT}n"
netns_up() {
  ip netns list | grep -qw "$NETNS" && return 0
  # Another interface holding the pair's subnet would take the node's packets: say so now rather
  # than let the node time out joining the quorum.
  local taken
  taken=$(ip -o -4 addr show | awk -v net="$CSP_KAFKA_NETNS_NET." 'index($4, net) == 1 {print $2}' | head -1)
  [ -z "$taken" ] || die "$CSP_KAFKA_NETNS_NET.0/30 is already on interface $taken (another stack's namespace?); remove it (ip link del $taken) or set CSP_KAFKA_NETNS_NET"
  say "network namespace $NETNS for Kafka node $CSP_KAFKA_PARTITION_NODE ($CSP_KAFKA_NETNS_NET.2, the machine $CSP_KAFKA_NETNS_NET.1)"
  ip netns add "$NETNS"
  ip link add "$VETH_HOST" type veth peer name "$VETH_NODE"
  ip link set "$VETH_NODE" netns "$NETNS"
  ip addr add "$CSP_KAFKA_NETNS_NET.1/30" dev "$VETH_HOST"
  ip link set "$VETH_HOST" up
  ip netns exec "$NETNS" ip addr add "$CSP_KAFKA_NETNS_NET.2/30" dev "$VETH_NODE"
  ip netns exec "$NETNS" ip link set "$VETH_NODE" up
  ip netns exec "$NETNS" ip link set lo up
}
netns_down() {
  ip route del blackhole "$CSP_KAFKA_NETNS_NET.2/32" 2>/dev/null || true
  ip link del "$VETH_HOST" 2>/dev/null || true
  ip netns del "$NETNS" 2>/dev/null || true
}
# A partition: the pair's machine end goes down, so neither side reaches the other, and a
# blackhole route keeps the machine's packets for the node off the default route.
partition() {
  [ "$1" = "$CSP_KAFKA_PARTITION_NODE" ] || die "only node CSP_KAFKA_PARTITION_NODE=${CSP_KAFKA_PARTITION_NODE:-(unset)} can be partitioned"
  ip link set "$VETH_HOST" down
  ip route replace blackhole "$CSP_KAFKA_NETNS_NET.2/32"
  say "Kafka node $1 partitioned from the others and from every client"
}
heal() {
  [ "$1" = "$CSP_KAFKA_PARTITION_NODE" ] || die "only node CSP_KAFKA_PARTITION_NODE=${CSP_KAFKA_PARTITION_NODE:-(unset)} can be partitioned"
  ip route del blackhole "$CSP_KAFKA_NETNS_NET.2/32" 2>/dev/null || true
  ip link set "$VETH_HOST" up
  ip addr replace "$CSP_KAFKA_NETNS_NET.1/30" dev "$VETH_HOST"
  say "Kafka node $1 joined to the others again"
}

if [ "$CSP_KAFKA_BROKERS" -gt 1 ]; then
  action=${1:-}; shift || true
  picked=("$@"); [ ${#picked[@]} -eq 0 ] && mapfile -t picked < <(nodes)
  for n in "${picked[@]}"; do
    [[ "$n" =~ ^[0-9]+$ ]] && ((n >= 1 && n <= CSP_KAFKA_BROKERS)) || die "no Kafka node '$n' (1..$CSP_KAFKA_BROKERS)"
  done
  case "$action" in
    fetch) fetch ;;
    start) cluster_start "${picked[@]}" ;;
    stop) cluster_stop "${picked[@]}" ;;
    kill) cluster_kill "${picked[@]}" ;;
    status) cluster_status "${picked[@]}" ;;
    reset) mapfile -t picked < <(nodes); cluster_stop "${picked[@]}"; netns_down; rm -rf "$KHOME"; say "Kafka data removed ($KHOME)" ;;
    partition) for n in "${picked[@]}"; do partition "$n"; done ;;
    heal) for n in "${picked[@]}"; do heal "$n"; done ;;
    topics) "$CSP_PYTHON" -m services.common.topics ;;
    *) echo "usage: $0 fetch|start|stop|kill|status|reset|topics|partition|heal [NODE...]" >&2; exit 2 ;;
  esac
  exit
fi

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  kill) pid_alive "$PIDFILE" && kill -KILL "$(cat "$PIDFILE")" && say "Kafka killed (SIGKILL)"; rm -f "$PIDFILE" ;;
  status) status ;;
  reset) stop; rm -rf "$KHOME"; say "Kafka data removed ($KHOME)" ;;
  topics) "$CSP_PYTHON" -m services.common.topics ;;
  *) echo "usage: $0 fetch|start|stop|kill|status|reset|topics" >&2; exit 2 ;;
esac
