#!/usr/bin/env bash
# Apache Kafka, KRaft single node, from Maven Central jars, run with the machine's Java.
#   kafka.sh fetch|start|stop|status|reset|kill|topics
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
  cat > "$KHOME/log4j.properties" <<PROPS
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$KHOME/logs/server.log
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
