#!/usr/bin/env bash
# The whole local stack: Kafka, PostgreSQL, the four services, demo data, and what operations staff
# watch (Prometheus, Alertmanager and its local receiver: deploy/local/ops.sh).
#   stack.sh up|infra|down|status|reset|demo      (infra: Kafka and PostgreSQL only, for the tests)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
D="$CSP_REPO/deploy/local"

infra_up() {
  bash "$D/postgres.sh" start
  "$CSP_PYTHON" -m services.common.migrate
  bash "$D/kafka.sh" start
  bash "$D/kafka.sh" topics   # before any faust worker starts: agents subscribe to existing topics only
}

up() {
  local t0=$SECONDS
  bash "$D/install.sh"
  infra_up
  bash "$D/services.sh" start
  bash "$D/ops.sh" start
  if [ "${CSP_DEMO:-1}" = "1" ]; then "$CSP_PYTHON" -m deploy.local.demo; fi
  cat <<MSG

Commissioning signals platform is up ($((SECONDS - t0))s). Data: $CSP_HOME
  Dashboard             http://127.0.0.1:$CSP_REPORTING_PORT/login   (sign in with a commissioner or operator key below)
  Dashboard (JSON API)  http://127.0.0.1:$CSP_REPORTING_PORT/v1/reports/summary?region=west_midlands&days=90
  Funding chain         http://127.0.0.1:$CSP_REPORTING_PORT/dashboard/funding-chain?area=SOM
  Partner portal        http://127.0.0.1:$CSP_REPORTING_PORT/portal/login   (sign in with a partner organisation's key below)
  You said, we did      http://127.0.0.1:$CSP_REPORTING_PORT/public/areas   (public, no key)
  Reporting API docs    http://127.0.0.1:$CSP_REPORTING_PORT/docs
  Intake API docs       http://127.0.0.1:$CSP_INTAKE_PORT/docs
  Alerts API docs       http://127.0.0.1:$CSP_ALERTS_API_PORT/docs
  Metrics               http://127.0.0.1:$CSP_INTAKE_PORT/metrics   (intake)
                        http://127.0.0.1:$CSP_MAPPING_PORT/metrics   (mapping)
                        http://127.0.0.1:$CSP_ALERTS_PORT/metrics   (alerts)
                        http://127.0.0.1:$CSP_ALERTS_API_PORT/metrics   (alerts API)
                        http://127.0.0.1:$CSP_REPORTING_WORKER_PORT/metrics   (reporting worker)
                        http://127.0.0.1:$CSP_REPORTING_PORT/metrics   (reporting API)
                        http://127.0.0.1:$CSP_KAFKA_METRICS_PORT/metrics   (Kafka broker, JMX exporter)
  Prometheus            http://127.0.0.1:$CSP_PROMETHEUS_PORT   (every process and the broker, the platform's rules)
  Alertmanager          http://127.0.0.1:$CSP_ALERTMANAGER_PORT   (platform alerts; notifications: $CSP_HOME/logs/alertmanager-receiver.log)
  Demo API keys         $CSP_HOME/demo-keys.json
  Stop: make down    Wipe data: make reset
MSG
}

down() {
  bash "$D/ops.sh" stop
  bash "$D/services.sh" stop
  bash "$D/kafka.sh" stop
  bash "$D/postgres.sh" stop
}

case "${1:-}" in
  up) up ;;
  infra) bash "$D/install.sh"; infra_up ;;
  down) down ;;
  status) bash "$D/postgres.sh" status || true; bash "$D/kafka.sh" status || true; bash "$D/services.sh" status || true
          bash "$D/ops.sh" status || true ;;
  reset) down; bash "$D/ops.sh" reset; bash "$D/kafka.sh" reset; bash "$D/postgres.sh" reset; rm -rf "$CSP_HOME"; say "stack data removed" ;;
  demo) "$CSP_PYTHON" -m deploy.local.demo ;;
  *) echo "usage: $0 up|infra|down|status|reset|demo" >&2; exit 2 ;;
esac
