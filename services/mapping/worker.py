"""The mapping stream worker: findings and performance events in, mapped events (or dead letters)
out, each batch produced and acknowledged by the broker before its offsets are.

    python -m services.mapping worker
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timezone

import faust
from prometheus_client import Counter

from contracts.taxonomy import Stage
from contracts.topics import PEER_REVIEWS
from contracts.topics import FINDINGS, FUNDING, PERFORMANCE
from services.common.metrics import DEADLETTERS, inc_each
from services.common.streams import BATCH_RECORDS, RECORDS, make_app, raw_topic
from services.common.upstream import each_batch

from .config import MappingSettings
from .domain.records import Output, handle
from .reloader import RuleHolder

log = logging.getLogger("mapping")
BY_STAGE = Counter("csp_mapped_events_by_stage_total", "Mapped events by commissioning cycle stage.", ["stage"])


def create_worker(settings: MappingSettings | None = None) -> faust.App:
    """The faust app with its agent and rule-reload timer; the rules are read here, not at import."""
    settings = settings or MappingSettings()
    app = make_app("csp-mapping", settings, settings.mapping_port)
    rules = RuleHolder(settings.mapping_rules)
    source = raw_topic(app, FINDINGS.name, PERFORMANCE.name, PEER_REVIEWS.name, FUNDING.name)
    _zero_series()

    async def produce_all(outs: Sequence[Output]) -> None:
        """Send every output with the app's producer (``Producer.send``, faust's public producer
        API, acks=all) and wait until the broker acknowledged all of them. ``Topic.send`` does the
        same with per-record bookkeeping this worker does not use, and kept the mapping worker
        under its benchmark floor (docs/benchmarks.md). take_events marks the batch processed even
        when the body raises (services.common.upstream), so a failure here must not escape: the
        whole batch is sent again until it is acknowledged (copies are deduplicated downstream by
        event id)."""
        delay = 0.5
        while True:
            try:
                pending = [
                    await app.producer.send(
                        out.topic, out.key, out.value, partition=None, timestamp=None, headers=list(out.headers)
                    )
                    for out in outs
                ]
                await asyncio.gather(*pending)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - anything short of an ack means: send again
                log.warning(
                    "produce failed, sending the batch again",
                    extra={"records": len(outs), "error": repr(exc), "retry_in": delay},
                )
                await asyncio.sleep(delay)
                delay = min(10.0, delay * 2)

    @app.agent(source, concurrency=1)
    async def map_events(stream):
        """Receive a batch, map each record (pure), produce them all, and wait for the broker to
        acknowledge every one before the batch's offsets are acked (take_events acks after the body)."""

        async def map_batch(events) -> None:
            BATCH_RECORDS.labels("mapping").observe(len(events))
            now = datetime.now(timezone.utc)
            outs = [
                (
                    e.message,
                    handle(e.value, e.key, e.message.topic, e.message.partition, e.message.offset, rules.current, now),
                )
                for e in events
            ]
            await produce_all([out for _, out in outs])
            _count(outs)
            if log.isEnabledFor(logging.INFO):
                for msg, out in outs:
                    log.info(
                        "event %s",
                        out.outcome,
                        extra={
                            "event_id": out.event_id,
                            "topic": out.topic,
                            "source_topic": msg.topic,
                            "offset": msg.offset,
                        },
                    )

        await each_batch(stream, settings.batch_max, settings.batch_within_seconds, map_batch)

    @app.timer(interval=settings.rules_check_seconds)
    async def reload_rules():
        """Pick up an edited rule file; a refused file leaves the rules in force unchanged."""
        rules.check()

    return app


def _zero_series() -> None:
    """Series that exist from the start read 0, so the first dead letter or stage shows as an increase."""
    for stage in Stage:
        BY_STAGE.labels(stage.slug)
    for topic in (FINDINGS.name, PERFORMANCE.name, PEER_REVIEWS.name, FUNDING.name):
        for refused_at in ("decode", "validate", "map"):
            DEADLETTERS.labels(topic, refused_at)


def _count(outs) -> None:
    """The batch's counters, one increment per series rather than per record."""
    inc_each(
        lambda topic, outcome: RECORDS.labels("mapping", topic, outcome),
        ((msg.topic, out.outcome) for msg, out in outs),
    )
    inc_each(DEADLETTERS.labels, ((msg.topic, out.stage) for msg, out in outs if out.stage is not None))
    inc_each(BY_STAGE.labels, ((stage.slug,) for _, out in outs for stage in out.stages))
