#!/usr/bin/env bash
# Install what the platform needs on a fresh Debian machine, once: Java, Maven, PostgreSQL,
# a Python virtualenv with the pinned dependencies, and the Kafka jars. Safe to run again.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$CSP_REPO"

APT_UPDATED=0
apt_install() {  # apt_install PACKAGE...: install the ones that are missing
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "need root to install ${missing[*]} (or install them yourself)"
  if [ $APT_UPDATED -eq 0 ]; then say "apt-get update"; apt-get update -qq; APT_UPDATED=1; fi
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

command -v java >/dev/null || apt_install openjdk-17-jre-headless
command -v mvn >/dev/null || apt_install maven
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || apt_install postgresql
# The Debian package starts its own cluster on 5432; the platform runs its own cluster instead.
# The system service a Debian package may start on install; deploy/local/ops.sh runs the package's
# binary itself, on the stack's ports (CSP_PROMETHEUS_PORT, CSP_ALERTMANAGER_PORT: the packages'
# own 9090 and 9093), so the service is stopped.
stop_package_service() { service "$1" stop >/dev/null 2>&1 || true; }
# Debian's prometheus package: promtool checks the config, rules and rule tests; the prometheus
# binary is the stack's Prometheus (deploy/local/ops.sh) and scrapes the test stack in
# tests/integration/test_prometheus.py.
{ command -v promtool && command -v prometheus; } >/dev/null || { apt_install prometheus; stop_package_service prometheus; }
# Debian's Alertmanager (with amtool): the stack's Alertmanager (deploy/local/ops.sh).
{ command -v prometheus-alertmanager && command -v amtool; } >/dev/null \
  || { apt_install prometheus-alertmanager; stop_package_service prometheus-alertmanager; }
# Debian's chromium drives the dashboard test in a real headless browser.
command -v chromium >/dev/null || apt_install chromium
if [ "${CSP_INSTALL_EXTRAS:-}" != "" ]; then apt_install $CSP_INSTALL_EXTRAS; fi

PY=${CSP_PYTHON_BOOTSTRAP:-python3}
if [ ! -x "$CSP_REPO/.venv/bin/python" ]; then
  "$PY" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' \
    || die "Python 3.11 is required (found $("$PY" --version 2>&1)); set CSP_PYTHON_BOOTSTRAP"
  say "creating virtualenv .venv"
  "$PY" -m venv "$CSP_REPO/.venv" || { apt_install python3-venv; "$PY" -m venv "$CSP_REPO/.venv"; }
fi
STAMP="$CSP_REPO/.venv/.installed-$(cat pyproject.toml constraints.txt | md5sum | cut -c1-12)"
if [ ! -f "$STAMP" ]; then
  say "installing Python dependencies (pinned by constraints.txt)"
  "$CSP_REPO/.venv/bin/pip" install -q "pip==26.3" >/dev/null
  "$CSP_REPO/.venv/bin/pip" install -q -c constraints.txt -e '.[test]'
  rm -f "$CSP_REPO"/.venv/.installed-*; touch "$STAMP"
fi
bash "$CSP_REPO/deploy/local/kafka.sh" fetch
# The ecosystem's own checkers of the published contracts (tests/interop), pinned by its package-lock.json;
# install scripts are not run (the parser needs none).
command -v npm >/dev/null || apt_install nodejs npm
INTEROP="$CSP_REPO/tests/interop"
NPM_STAMP="$INTEROP/node_modules/.installed-$(md5sum < "$INTEROP/package-lock.json" | cut -c1-12)"
if [ ! -f "$NPM_STAMP" ]; then
  say "installing the interoperability checkers (npm ci in tests/interop)"
  npm ci --prefix "$INTEROP" --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
  touch "$NPM_STAMP"
fi
say "install complete"
