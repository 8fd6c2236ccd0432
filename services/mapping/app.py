"""Composition root of the mapping worker (faust-streaming).

    python -m services.mapping worker -l info
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

from contracts.taxonomy import Stage
from contracts.topics import FINDINGS, PERFORMANCE
from services.common.metrics import DEADLETTERS, inc_each
from services.common.streams import BATCH_RECORDS, RECORDS, held_on_failure, make_app

from prometheus_client import Counter

from .config import MappingSettings
from .domain.records import handle
from .reloader import RuleHolder

settings = MappingSettings()
log = logging.getLogger("mapping")
app = make_app("csp-mapping", settings, settings.mapping_port)
RULES = RuleHolder(settings.mapping_rules)
BY_STAGE = Counter("csp_mapped_events_by_stage_total", "Mapped events by commissioning cycle stage.",
                   ["stage"])
# Series that exist from the start read 0, so the first dead letter or stage shows as an increase.
for _stage in Stage:
    BY_STAGE.labels(_stage.slug)
for _topic in (FINDINGS.name, PERFORMANCE.name):
    for _refused_at in ("decode", "validate", "map"):
        DEADLETTERS.labels(_topic, _refused_at)

source = app.topic(FINDINGS.name, PERFORMANCE.name, value_serializer="raw", key_serializer="raw")


async def produce_all(outs) -> None:
    """Produce every output and wait until the broker acknowledged all of them. take_events marks
    the batch processed even when the body raises, so a failure here must not escape: the whole
    batch is sent again until it is acknowledged (copies are deduplicated downstream by event id)."""
    delay = 0.5
    while True:
        try:
            # Straight to the app's Kafka producer (acks=all): the same delivery with less
            # per-record work than Topic.send.
            pending = [await app.producer.send(out.topic, out.key, out.value, partition=None,
                                               timestamp=None, headers=list(out.headers)) for out in outs]
            await asyncio.gather(*pending)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - anything short of an ack means: send again
            log.warning("produce failed, sending the batch again",
                        extra={"records": len(outs), "error": repr(exc), "retry_in": delay})
            await asyncio.sleep(delay)
            delay = min(10.0, delay * 2)


@app.agent(source, concurrency=1)
async def map_events(stream):
    """Receive a batch, map each record (pure), produce them all, and wait for the broker to
    acknowledge every one before the batch's offsets are acked (take_events acks after the body)."""
    async for events in stream.take_events(settings.batch_max, within=settings.batch_within_seconds):
        with held_on_failure(events):
            BATCH_RECORDS.labels("mapping").observe(len(events))
            now = datetime.now(timezone.utc)
            outs = [(e.message, handle(e.value, e.key, e.message.topic, e.message.partition, e.message.offset,
                                       RULES.current, now)) for e in events]
            await produce_all([out for _, out in outs])
            count(outs)
            if log.isEnabledFor(logging.INFO):
                for msg, out in outs:
                    log.info("event %s", out.outcome, extra={"event_id": out.event_id, "topic": out.topic,
                                                             "source_topic": msg.topic, "offset": msg.offset})


def count(outs) -> None:
    """The batch's counters, one increment per series rather than per record."""
    inc_each(lambda topic, outcome: RECORDS.labels("mapping", topic, outcome),
             ((msg.topic, out.outcome) for msg, out in outs))
    inc_each(DEADLETTERS.labels, ((msg.topic, out.stage) for msg, out in outs if out.stage is not None))
    inc_each(BY_STAGE.labels, ((stage.slug,) for _, out in outs for stage in out.stages))


@app.timer(interval=settings.rules_check_seconds)
async def reload_rules():
    """Pick up an edited rule file; a refused file leaves the rules in force unchanged."""
    RULES.check()
