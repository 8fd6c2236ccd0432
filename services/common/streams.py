"""faust-streaming used the safe way: at-least-once, topics pre-created, raw bytes in and out.

Every worker gets /metrics, /healthz and /readyz on its faust web server. Records are JSON
bytes validated with the contracts models by the service's own pure code, not by faust.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import faust
from faust.web import View
from prometheus_client import Counter, Gauge, Histogram
from pydantic import BaseModel, ValidationError

from contracts.events import DeadLetter
from contracts.topics import deadletter_headers

from . import heap, logs
from .db import until_done
from .metrics import exposition, set_build_info
from .settings import CommonSettings

log = logging.getLogger("streams")
M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")
RECORDS = Counter("csp_stream_records_total", "Records handled by a stream worker.", ["worker", "topic", "outcome"])
BATCH_RECORDS = Histogram(
    "csp_stream_batch_records",
    "Records in one batch a stream worker took.",
    ["worker"],
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000),
)
CONSUMER_LAG = Gauge("csp_kafka_consumer_lag_records", "Records behind the log end.", ["worker", "topic", "partition"])


async def send_dead_letter(topic: faust.types.TopicT, event: faust.types.EventT, reason: str, service: str) -> None:
    """The record, why ``service`` refused it and where it came from, on the dead-letter topic,
    once the broker acknowledged it. The caller counts it (its own literal labels)."""
    msg = event.message
    letter = DeadLetter(
        reason=reason,
        stage="process",
        source_topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        original=(event.value or b"").decode("utf-8", "replace"),
        failed_at=datetime.now(timezone.utc),
    )
    await (
        await topic.send(
            key=event.key, value=letter.model_dump_json().encode(), headers=deadletter_headers(letter, service)
        )
    )
    log.warning(
        "record dead-lettered",
        extra={"topic": msg.topic, "partition": msg.partition, "offset": msg.offset, "reason": reason[:300]},
    )


Refuse = Callable[[Any, str], Awaitable[None]]


async def parse_each(events: Sequence[Any], model: type[M], refuse: Refuse) -> list[tuple[Any, M]]:
    """Each event's value validated as ``model``; an event that is not is refused with the reason."""
    parsed = []
    for event in events:
        try:
            parsed.append((event, model.model_validate_json(event.value or b"")))
        except ValidationError as exc:
            await refuse(event, str(exc.errors()[0].get("msg")))
    return parsed


async def apply_or_one_by_one(
    parsed: list[tuple[Any, M]], apply: Callable[[list[M]], Awaitable[R]], refuse: Refuse
) -> tuple[list[tuple[Any, M]], list[R]]:
    """``apply`` the whole batch (retried while PostgreSQL is away). If PostgreSQL refuses a value
    in it (asyncpg.DataError: it can never be stored), apply the records one by one and refuse
    those it refuses, so one bad record neither blocks the partition nor sinks the rest. Returns
    the records applied and what each ``apply`` returned."""
    try:
        return parsed, [await until_done(lambda: apply([m for _, m in parsed]), f"batch of {len(parsed)}")]
    except asyncpg.DataError:
        kept, results = [], []
        for event, item in parsed:
            try:
                label = str(getattr(item, "event_id", event.message.offset))
                results.append(await until_done(lambda item=item: apply([item]), label))
            except asyncpg.DataError as exc:
                await refuse(event, f"not storable: {exc}")
                continue
            kept.append((event, item))
        return kept, results


def raw_topic(app: faust.App, *names: str) -> faust.TopicT:
    """A topic of ``app`` read and written as raw bytes (records are JSON the services validate)."""
    return app.topic(*names, value_serializer="raw", key_serializer="raw")


def make_app(app_id: str, settings: CommonSettings, web_port: int) -> faust.App:
    """A stream worker's faust app: at-least-once (offsets committed after the agent's body),
    acks=all, raw bytes in and out, topics never declared by faust, and /metrics, /healthz and
    /readyz on its web server. The service adds its agents and timers (``create_worker``)."""
    datadir = Path(os.environ.get("CSP_HOME", ".local/stack")) / "faust" / app_id
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        autodiscover=False,
        value_serializer="raw",
        key_serializer="raw",
        # Topics come from contracts via services/common/topics.py; faust must not invent any.
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_commit_every=settings.kafka_commit_every,
        stream_buffer_maxsize=settings.stream_buffer_maxsize,
        broker_commit_interval=settings.kafka_commit_interval_seconds,
        broker_session_timeout=settings.kafka_session_timeout_seconds,
        broker_heartbeat_interval=settings.kafka_heartbeat_seconds,
        consumer_metadata_max_age_ms=settings.kafka_metadata_max_age_ms,
        web_enabled=True,
        web_host="127.0.0.1",
        web_bind=settings.worker_web_bind,
        web_port=web_port,
        datadir=str(datadir),
        # JSON lines like every other service, instead of faust's coloured console format.
        logging_config=logs.dict_config(app_id.removeprefix("csp-"), settings.log_level),
    )
    set_build_info(app_id, settings.service_version)

    @app.task
    async def settle_heap() -> None:
        heap.settle()

    @app.page("/metrics")
    class Metrics(View):
        async def get(self, request):
            _update_lag(app)
            body, ctype = exposition()
            return self.bytes(body, headers={"Content-Type": ctype})

    @app.page("/healthz")
    class Health(View):
        async def get(self, request):
            return self.json({"status": "ok"})

    @app.page("/readyz")
    class Ready(View):
        async def get(self, request):
            assigned = sorted(f"{tp.topic}:{tp.partition}" for tp in app.consumer.assignment())
            ready = bool(assigned)
            return self.json(
                {"status": "ready" if ready else "not ready", "assigned": assigned}, status=200 if ready else 503
            )

    return app


def _update_lag(app: faust.App) -> None:
    """Lag per assigned partition: the consumer's highwater less the offset faust last committed
    (its monitor's ``tp_committed_offsets``, public sensor state).

    Partitions this worker no longer owns (after a rebalance) are dropped, so that summing the
    gauge across workers does not count a partition twice.
    """
    worker = app.conf.id.removeprefix("csp-")
    try:
        consumer = app.consumer
        owned = set()
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            committed = app.monitor.tp_committed_offsets.get(tp)
            if high is None:
                continue
            owned.add((worker, tp.topic, str(tp.partition)))
            CONSUMER_LAG.labels(worker, tp.topic, str(tp.partition)).set(max(0, high - (committed or 0)))
        for labels in list(_LAG_LABELS.get(worker, set()) - owned):
            CONSUMER_LAG.remove(*labels)
        _LAG_LABELS[worker] = owned
    except Exception:  # noqa: BLE001 - metrics must never break the worker
        pass


_LAG_LABELS: dict[str, set[tuple[str, str, str]]] = {}
