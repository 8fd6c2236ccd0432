# The two commands: `make up` (whole stack + demo data) and `make test` (whole test suite).
SHELL := /bin/bash
.DEFAULT_GOAL := help
LOCAL := deploy/local

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

up:  ## install what is missing; start Kafka, PostgreSQL, the six processes, Prometheus and Alertmanager; load demo data
	@bash $(LOCAL)/stack.sh up

down:  ## stop everything; data stays on disk
	@bash $(LOCAL)/stack.sh down

status:  ## what is running
	@bash $(LOCAL)/stack.sh status

reset:  ## stop everything and delete the stack's data
	@bash $(LOCAL)/stack.sh reset

install:  ## install system packages, the virtualenv and the Kafka jars
	@bash $(LOCAL)/install.sh

test:  ## install what is missing; lint, type-check and run the whole test suite (unit, integration, e2e, faults, then the three-broker cluster)
	@bash $(LOCAL)/install.sh
	@.venv/bin/python -m contracts.export --check
	@$(MAKE) --no-print-directory lint
	@.venv/bin/python -m pytest tests
	@.venv/bin/python -m pytest tests/cluster -q -p no:cacheprovider

lint:  ## ruff (format check; pycodestyle, pyflakes, bugbear) and mypy, configured in pyproject.toml
	@.venv/bin/ruff format --check .
	@.venv/bin/ruff check .
	@.venv/bin/mypy

test-cluster:  ## the platform on a three-broker Kafka cluster: brokers and worker copies killed under load (tests/cluster)
	@bash $(LOCAL)/install.sh
	@.venv/bin/python -m pytest tests/cluster -q -p no:cacheprovider
.PHONY: test-cluster

unit:  ## the fast tests only (no Kafka or PostgreSQL)
	@.venv/bin/python -m pytest tests/unit -q

schemas:  ## regenerate contracts/schemas and contracts/asyncapi.json from the models
	@.venv/bin/python -m contracts.export

bench:  ## run every benchmark side by side; writes artifacts/benchmarks/report.{json,md} (about 10 minutes)
	@.venv/bin/python -m tests.benchmarks.run_all

.PHONY: help up down status reset install test lint unit schemas
