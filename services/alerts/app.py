"""Composition root of the alerts worker (faust-streaming).

    python -m services.alerts worker -l info

Consumes mapped events, co-partitioned by area with the intake topics. The threshold rules,
alert store and delivery arrive with the alerts issue; this worker already takes its place in
the stack, with health and metrics, so the pipeline's shape is fixed from the start.
"""
from __future__ import annotations

import logging

from pydantic import ValidationError

from contracts.events import MappedEvent
from contracts.topics import MAPPED
from services.common.streams import RECORDS, make_app

from .config import AlertsSettings

settings = AlertsSettings()
log = logging.getLogger("alerts")
app = make_app("csp-alerts", settings, settings.alerts_port)
source = app.topic(MAPPED.name, value_serializer="raw", key_serializer="raw")


@app.agent(source, concurrency=1)
async def evaluate(stream):
    async for event in stream.events():
        try:
            MappedEvent.model_validate_json(event.value or b"")
            RECORDS.labels("alerts", event.message.topic, "seen").inc()
        except ValidationError:
            RECORDS.labels("alerts", event.message.topic, "invalid").inc()
