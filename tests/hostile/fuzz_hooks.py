"""Schemathesis hooks for the intake fuzz run (loaded through ``SCHEMATHESIS_HOOKS``).

A schema-valid event names a random ``source`` and a random area, so the service would refuse
almost every one with 403 (another organisation) or 422 (unknown area) before the privacy guard,
the ledger and Kafka ever see it. Valid cases are therefore sent as the key's own organisation
(``CSP_FUZZ_SOURCE``) in Kent or Hampshire, a performance event about its own service (the
organisation registry lets it report for Kent and for itself only, so the Hampshire half shows the
registry's 403); every other generated value is kept. Invalid cases
are sent exactly as generated. Each valid case gets a fresh ``event_id`` so that it reaches Kafka
instead of stopping at the idempotency check (replays are tested on their own elsewhere).
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import schemathesis
from schemathesis import GenerationMode

AREAS = (("KENT", "south_east_coast"), ("HAMP", "south_central"))


def _own(event: Any) -> None:
    if isinstance(event, dict) and "source" in event:
        event_id = uuid.uuid4()
        event["event_id"] = str(event_id)
        event["source"] = os.environ["CSP_FUZZ_SOURCE"]
        event["area"], event["region"] = AREAS[event_id.int % len(AREAS)]
        if isinstance(event.get("data"), dict) and "provider_id" in event["data"]:
            event["data"]["provider_id"] = event["source"]


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    meta = case.meta
    if meta is None or meta.generation.mode is not GenerationMode.POSITIVE:
        return
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("events"), list):
        for event in body["events"]:
            _own(event)
    else:
        _own(body)
