"""Prometheus metrics shared by all services: build info, HTTP RED metrics, pool usage."""
from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, Info, generate_latest

BUILD_INFO = Info("csp_build", "Build information of this service.")
HTTP_REQUESTS = Counter("csp_http_requests_total", "HTTP requests answered.",
                        ["route", "method", "status"])
HTTP_DURATION = Histogram("csp_http_request_duration_seconds", "HTTP request duration.",
                          ["route", "method"],
                          buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
HTTP_IN_FLIGHT = Gauge("csp_http_requests_in_flight", "HTTP requests being handled.")
PG_POOL_SIZE = Gauge("csp_pg_pool_connections", "PostgreSQL pool connections.", ["state"])


def set_build_info(service: str, version: str) -> None:
    BUILD_INFO.info({"service": service, "version": version})


def exposition() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST


def observe_pool(pool) -> None:
    if pool is None:
        return
    size, idle = pool.get_size(), pool.get_idle_size()
    PG_POOL_SIZE.labels("in_use").set(size - idle)
    PG_POOL_SIZE.labels("idle").set(idle)
