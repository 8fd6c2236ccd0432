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
from .domain import ruleset
from .domain.records import handle

settings = MappingSettings()
log = logging.getLogger("mapping")
app = make_app("csp-mapping", settings, settings.mapping_port)
RULES = {"current": ruleset.load(settings.mapping_rules)}

source = app.topic(FINDINGS.name, PERFORMANCE.name, value_serializer="raw", key_serializer="raw")


@app.agent(source, concurrency=1)
async def map_events(stream):
    """Receive, map (pure), produce and wait for the broker's ack before the offset may commit."""
    async for event in stream.events():
        msg = event.message
        out = handle(event.value, event.key, msg.topic, msg.partition, msg.offset,
                     RULES["current"], datetime.now(timezone.utc))
        fut = await app.topic(out.topic, value_serializer="raw", key_serializer="raw").send(
            key=out.key, value=out.value)
        await fut
        RECORDS.labels("mapping", msg.topic, out.outcome).inc()
        log.info("event %s", out.outcome, extra={"event_id": out.event_id, "topic": out.topic,
                                                 "source_topic": msg.topic, "offset": msg.offset})


@app.on_configured.connect
def _configure_logs(app, conf, **kwargs):  # noqa: ARG001 - faust signal signature
    logs.configure("mapping", settings.log_level)
