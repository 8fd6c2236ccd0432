# syntax=docker/dockerfile:1
# One image for the four services (intake, mapping, alerts + alerts-api, reporting + reporting-worker)
# and the one-shot jobs (migrations, topics). docker-compose.yml and deploy/k8s choose the command.
#
#   docker build -t commissioning-signals:0.1.0 .
#   docker run --rm -p 8081:8081 -e CSP_KAFKA_BOOTSTRAP=... -e CSP_PG_DSN=... commissioning-signals:0.1.0
ARG PYTHON_IMAGE=python:3.11-slim

# --- build: a virtualenv with the pinned dependencies ----------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first: this layer is reused until pyproject.toml or constraints.txt change.
COPY pyproject.toml constraints.txt ./
COPY contracts ./contracts
COPY services ./services
COPY deploy/__init__.py ./deploy/__init__.py
COPY deploy/local/__init__.py deploy/local/demo.py ./deploy/local/
# Every wheel (asyncpg, aiokafka, multidict, yarl, pydantic-core...) exists prebuilt for
# CPython 3.11 on manylinux, so no compiler is needed.
RUN pip install -c constraints.txt . \
 && python -m compileall -q /src/contracts /src/services /src/deploy

# --- runtime: the virtualenv and the source tree, as a non-root user --------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="commissioning-signals" \
      org.opencontainers.image.description="Commissioning signals platform: intake, mapping, alerts, reporting"
RUN groupadd --system --gid 10001 csp \
 && useradd --system --uid 10001 --gid csp --home-dir /app --no-create-home --shell /usr/sbin/nologin csp \
 && mkdir -p /var/lib/csp \
 && chown csp:csp /var/lib/csp
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The source tree, not only the installed package, so code and the migrations beside each service
# (services/*/migrations/*.sql, also package data) come from one place.
COPY --from=build /src/contracts ./contracts
COPY --from=build /src/services ./services
COPY --from=build /src/deploy ./deploy
# PYTHONPATH puts /app ahead of site-packages, so code and migrations come from the same tree.
# CSP_HOME holds faust's data directory (writable; an emptyDir or volume in production).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CSP_HOME=/var/lib/csp
USER 10001:10001
EXPOSE 8081 8082 8083 8084 8085 8086
# Default: the intake API. The other processes override the command:
#   python -m services.mapping worker
#   python -m services.alerts worker
#   python -m services.alerts api --host 0.0.0.0 --port 8086
#   python -m services.reporting worker
#   python -m services.reporting api --host 0.0.0.0 --port 8084
# The three APIs run under gunicorn with uvicorn's workers (services/common/gunicorn_conf.py);
# options after --host/--port are gunicorn's, e.g. --workers 2.
#   python -m services.common.migrate          (job)
#   python -m services.common.topics           (job)
CMD ["python", "-m", "services.intake", "api", "--host", "0.0.0.0", "--port", "8081"]
