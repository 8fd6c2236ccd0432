"""Settings read from the environment (prefix ``CSP_``); one class per service extends this."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CSP_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:19092"
    pg_dsn: str = "postgresql://csp:csp-local-only@127.0.0.1:15432/csp"
    pg_pool_min: int = 1
    pg_pool_max: int = 10
    log_level: str = "INFO"
    service_version: str = "0.1.0"
    # A partner's occurred_at may be this far ahead of the platform's clock (intake refuses an
    # event further ahead; the explain endpoint says so).
    clock_skew_seconds: int = 300
    # API key lookups are cached this long: a revoked key stops working within this time.
    key_cache_seconds: float = 5.0
    # Local defaults: each API key may read this many requests a second (bursts up to the second
    # figure); each client address may fail authentication (unknown, malformed or revoked key)
    # this often. Over either: 429 with Retry-After. At most key_cache_max keys are cached.
    reads_per_second: float = 20.0
    reads_burst: float = 200.0
    auth_failures_per_second: float = 2.0
    auth_failures_burst: float = 30.0
    key_cache_max: int = 10_000
    # Local default: a request body (intake, alerts-api writes) must arrive whole within this
    # many seconds of the request's headers, else 408 and the connection is closed.
    body_seconds: float = 10.0
    # Stream workers: a worker that dies is noticed after this long and its partitions move on.
    kafka_session_timeout_seconds: float = 15.0
    kafka_heartbeat_seconds: float = 3.0
    # Offsets are committed every N records or this often, whichever comes first.
    kafka_commit_every: int = 1000
    kafka_commit_interval_seconds: float = 0.5
    # How often a stream worker refreshes its view of partition leaders even when nothing told it
    # they moved (faust's consumer_metadata_max_age_ms, 300,000 by default). After a broker
    # comes back from a network partition, aiokafka asked the old leader for offsets until its
    # metadata was refreshed: a worker stalled for minutes (tests/cluster/test_partition.py).
    kafka_metadata_max_age_ms: int = 10_000
    # Address the stream workers' web server (metrics, health) listens on: loopback for the local
    # stack; the container files set 0.0.0.0 so Prometheus and the probes can reach it.
    worker_web_bind: str = "127.0.0.1"
    # Stream workers take records in batches of at most this many (mapped and produced together,
    # or stored in one transaction); a batch waits at most this long to fill.
    batch_max: int = 1000
    batch_within_seconds: float = 0.02
    # Records a stream worker holds between the fetch and its agent (faust's stream_buffer_maxsize,
    # 4,096 by default). Fetching from a partition pauses when its buffer is 80% full: with the
    # default, the reporting worker paused so often that it fell behind (docs/benchmarks.md).
    # Costs memory: up to this many records per worker.
    stream_buffer_maxsize: int = 16384
