"""Prometheus metrics shared by all services: build info, HTTP RED metrics, pool usage.

Labels are bounded: route templates (never raw paths), methods, status codes, pool states.

The HTTP services run under gunicorn, one or more worker processes each
(services/common/gunicorn_conf.py), in prometheus_client's multiprocess mode: gunicorn's master
sets ``PROMETHEUS_MULTIPROC_DIR`` to a fresh directory before any worker starts, each worker
writes its values to files there, and whichever worker answers ``/metrics`` reports them all
(counters and histograms summed, gauges as their ``multiprocess_mode`` says); the master marks
each worker that exits as dead, so its live gauges stop counting. The faust workers, one process
each, keep the ordinary registry.
"""

from __future__ import annotations

import asyncio
import os
import platform
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
    multiprocess,
)

#: True in a worker of an HTTP service under gunicorn (see the module's docstring).
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

# The label is `component`, not `service`: Prometheus attaches a `service` target label to every
# series (deploy/prometheus/prometheus.yml) and would rename a scraped one to `exported_service`.
BUILD_INFO = Info("csp_build", "Build information of this process (always 1).")
HTTP_REQUESTS = Counter("csp_http_requests_total", "HTTP requests answered.", ["route", "method", "status"])
HTTP_DURATION = Histogram(
    "csp_http_request_duration_seconds",
    "HTTP request duration.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
# Gauges say how to add up the workers of a multi-process service: live ones only, summed.
HTTP_IN_FLIGHT = Gauge("csp_http_requests_in_flight", "HTTP requests being handled.", multiprocess_mode="livesum")
# Every worker that writes to deadletter.v1 counts here, so one series covers the whole platform.
DEADLETTERS = Counter(
    "csp_deadletter_records_total",
    "Records written to the dead-letter topic, by the topic they came from and "
    "the stage that refused them (decode, validate, map, process).",
    ["topic", "reason_stage"],
)
PG_POOL_SIZE = Gauge(
    "csp_pg_pool_connections", "PostgreSQL pool connections, by state.", ["state"], multiprocess_mode="livesum"
)
PG_POOL_MAX = Gauge(
    "csp_pg_pool_max_connections",
    "Most connections the PostgreSQL pool may open (saturation = in_use / max).",
    multiprocess_mode="livesum",
)
#: How often a worker of a multi-process service brings its pool gauges up to date: a scrape
#: reaches one worker, and the others' values are read from their files.
POOL_REFRESH_S = 5.0

#: The asyncpg pools of this process, read at each scrape (asyncpg pools take no weak references).
_POOLS: list = []
_refresher: asyncio.Task | None = None


def inc_each(series: Callable[..., Any], keys: Iterable[tuple]) -> None:
    """Count a batch: ``series(*key).inc(n)`` once per distinct label tuple, not once per record.
    ``series`` is a metric's ``labels`` (or a lambda fixing some of them)."""
    for key, n in Tally(keys).items():
        series(*key).inc(n)


def set_build_info(component: str, version: str) -> None:
    BUILD_INFO.info({"component": component, "version": version, "python_version": platform.python_version()})


def track_pool(pool) -> None:
    """Report this pool's usage on every scrape from now on."""
    global _refresher
    if pool is not None and not any(p is pool for p in _POOLS):
        _POOLS.append(pool)
    if MULTIPROCESS and _refresher is None and pool is not None:
        _refresher = asyncio.get_running_loop().create_task(_refresh_pools())


async def _refresh_pools() -> None:
    global _refresher
    try:
        while _POOLS:
            await asyncio.sleep(POOL_REFRESH_S)
            _update_pools()
    finally:
        _refresher = None


def _update_pools() -> None:
    _POOLS[:] = [p for p in _POOLS if not p.is_closing()]
    if not _POOLS:
        return
    size = sum(p.get_size() for p in _POOLS)
    idle = sum(p.get_idle_size() for p in _POOLS)
    PG_POOL_SIZE.labels("in_use").set(size - idle)
    PG_POOL_SIZE.labels("idle").set(idle)
    PG_POOL_MAX.set(sum(p.get_max_size() for p in _POOLS))


def exposition() -> tuple[bytes, str]:
    """The registry in the text format, with gauges that are read at scrape time brought up to date;
    in a multi-process service, every worker's values."""
    _update_pools()
    if MULTIPROCESS:
        return generate_latest(_workers_registry()), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


_WORKERS: CollectorRegistry | None = None


def _workers_registry() -> CollectorRegistry:
    """All workers' values from their files, and the build info (an Info is kept in memory only;
    every worker has the same)."""
    global _WORKERS
    if _WORKERS is None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(BUILD_INFO)
        _WORKERS = registry
    return _WORKERS
