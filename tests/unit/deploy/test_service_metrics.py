"""The shared metric helpers: build info labels, pool usage read at scrape time, dead letters."""

from __future__ import annotations

import platform

from prometheus_client import REGISTRY

from services.common import metrics


class Pool:
    """The four asyncpg.Pool methods the pool gauges read (asyncpg pools need a server)."""

    def __init__(self, size: int, idle: int, max_size: int) -> None:
        self.size, self.idle, self.max_size, self.closing = size, idle, max_size, False

    def get_size(self) -> int:
        return self.size

    def get_idle_size(self) -> int:
        return self.idle

    def get_max_size(self) -> int:
        return self.max_size

    def is_closing(self) -> bool:
        return self.closing


def sample(name: str, **labels) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_build_info_names_the_component_not_the_service_target_label():
    metrics.set_build_info("intake", "9.9.9")
    assert (
        sample("csp_build_info", component="intake", version="9.9.9", python_version=platform.python_version()) == 1.0
    )
    text = metrics.exposition()[0].decode()
    assert 'service="' not in text.split("csp_build_info{", 1)[1].split("}", 1)[0]


def test_pool_usage_is_read_at_each_scrape_and_closed_pools_drop_out():
    saved = list(metrics._POOLS)
    metrics._POOLS.clear()
    try:
        pool = Pool(size=4, idle=1, max_size=10)
        metrics.track_pool(pool)
        metrics.track_pool(pool)  # once only
        metrics.exposition()
        assert sample("csp_pg_pool_connections", state="in_use") == 3
        assert sample("csp_pg_pool_connections", state="idle") == 1
        assert sample("csp_pg_pool_max_connections") == 10
        pool.idle = 4
        second = Pool(size=2, idle=0, max_size=4)
        metrics.track_pool(second)
        metrics.exposition()
        assert sample("csp_pg_pool_connections", state="in_use") == 2
        assert sample("csp_pg_pool_connections", state="idle") == 4
        assert sample("csp_pg_pool_max_connections") == 14
        second.closing = True
        metrics.exposition()
        assert metrics._POOLS == [pool]
        assert sample("csp_pg_pool_max_connections") == 10
    finally:
        metrics._POOLS[:] = saved


def test_dead_letters_are_one_counter_for_every_worker():
    before = sample("csp_deadletter_records_total", topic="mapped.events.v1", reason_stage="process") or 0
    metrics.DEADLETTERS.labels("mapped.events.v1", "process").inc()
    assert sample("csp_deadletter_records_total", topic="mapped.events.v1", reason_stage="process") == before + 1
