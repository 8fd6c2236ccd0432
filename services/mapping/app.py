"""Composition root of the mapping worker (faust-streaming).

    python -m services.mapping worker -l info
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from contracts.topics import FINDINGS, PERFORMANCE
from services.common import logs
from services.common.streams import RECORDS, make_app

from .config import MappingSettings
from prometheus_client import Counter

from .domain.records import handle
from .reloader import RuleHolder

settings = MappingSettings()
log = logging.getLogger("mapping")
app = make_app("csp-mapping", settings, settings.mapping_port)
RULES = RuleHolder(settings.mapping_rules)
DEADLETTERS = Counter("csp_deadletter_records_total", "Records sent to the dead-letter topic.",
                      ["topic", "reason_stage"])
BY_STAGE = Counter("csp_mapped_events_by_stage_total", "Mapped events by commissioning cycle stage.",
                   ["stage"])

source = app.topic(FINDINGS.name, PERFORMANCE.name, value_serializer="raw", key_serializer="raw")


@app.agent(source, concurrency=1)
async def map_events(stream):
    """Receive, map (pure), produce and wait for the broker's ack before the offset may commit."""
    async for event in stream.events():
        msg = event.message
        out = handle(event.value, event.key, msg.topic, msg.partition, msg.offset,
                     RULES.current, datetime.now(timezone.utc))
        fut = await app.topic(out.topic, value_serializer="raw", key_serializer="raw").send(
            key=out.key, value=out.value)
        await fut
        RECORDS.labels("mapping", msg.topic, out.outcome).inc()
        if out.stage is not None:
            DEADLETTERS.labels(msg.topic, out.stage).inc()
        for stage in out.stages:
            BY_STAGE.labels(stage.slug).inc()
        log.info("event %s", out.outcome, extra={"event_id": out.event_id, "topic": out.topic,
                                                 "source_topic": msg.topic, "offset": msg.offset})


@app.timer(interval=settings.rules_check_seconds)
async def reload_rules():
    """Pick up an edited rule file; a refused file leaves the rules in force unchanged."""
    RULES.check()


@app.on_configured.connect
def _configure_logs(app, conf, **kwargs):  # noqa: ARG001 - faust signal signature
    logs.configure("mapping", settings.log_level)
