"""faust-streaming used the safe way: at-least-once, topics pre-created, raw bytes in and out.

Every worker gets /metrics, /healthz and /readyz on its faust web server. Records are JSON
bytes validated with the contracts models by the service's own pure code, not by faust.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.web import View
from prometheus_client import Counter, Gauge, Histogram
from pydantic import BaseModel, ValidationError

from contracts.events import DeadLetter
from contracts.topics import deadletter_headers

from . import heap, logs
from .drain import eager_drain
from .db import until_done
from .metrics import exposition, set_build_info
from .settings import CommonSettings

log = logging.getLogger("streams")
M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")
RECORDS = Counter("csp_stream_records_total", "Records handled by a stream worker.",
                  ["worker", "topic", "outcome"])
BATCH_RECORDS = Histogram("csp_stream_batch_records", "Records in one batch a stream worker took.",
                          ["worker"], buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000))
CONSUMER_LAG = Gauge("csp_kafka_consumer_lag_records", "Records behind the log end.",
                     ["worker", "topic", "partition"])


async def send_dead_letter(topic: faust.types.TopicT, event: faust.types.EventT, reason: str,
                           service: str) -> None:
    """The record, why ``service`` refused it and where it came from, on the dead-letter topic,
    once the broker acknowledged it. The caller counts it (its own literal labels)."""
    msg = event.message
    letter = DeadLetter(reason=reason, stage="process", source_topic=msg.topic, partition=msg.partition,
                        offset=msg.offset, original=(event.value or b"").decode("utf-8", "replace"),
                        failed_at=datetime.now(timezone.utc))
    await (await topic.send(key=event.key, value=letter.model_dump_json().encode(),
                            headers=deadletter_headers(letter, service)))
    log.warning("record dead-lettered", extra={"topic": msg.topic, "partition": msg.partition,
                                               "offset": msg.offset, "reason": reason[:300]})


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


async def apply_or_one_by_one(parsed: list[tuple[Any, M]], apply: Callable[[list[M]], Awaitable[R]],
                              refuse: Refuse) -> tuple[list[tuple[Any, M]], list[R]]:
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
                results.append(await until_done(lambda: apply([item]), label))
            except asyncpg.DataError as exc:
                await refuse(event, f"not storable: {exc}")
                continue
            kept.append((event, item))
        return kept, results


@contextlib.contextmanager
def held_on_failure(events: Sequence[Any]) -> Iterator[None]:
    """Around an agent's body for ``events``: if the body does not finish (an error, a
    cancellation), the events are held (one more reference each), so faust never counts them as
    processed. faust acknowledges what ``take_events`` (or ``events()``) handed over in a
    ``finally``, failed body or not (faust-streaming issue #315), and would then commit past
    records that were never stored or produced. Held, they stay uncommitted and are read again
    when the worker restarts; later offsets are not committed past them either."""
    try:
        yield
    except BaseException:
        for event in events:
            event.message.incref()
        log.error("batch not processed; its records stay unacknowledged until the worker restarts",
                  extra={"records": len(events)})
        raise


def bound_fetch_wait(max_wait_ms: int) -> None:
    """Make faust's worker consumers ask the broker to answer a fetch within ``max_wait_ms``.

    faust builds its aiokafka consumer with ``fetch_max_wait_ms=1500``, fixed. A fetch in flight
    names only the partitions with nothing buffered in the consumer, so a record arriving on
    another partition waits until that fetch comes back, empty, after up to 1.5 s: measured as
    most of the time between the mapped topic and the alert in the end-to-end benchmark. The
    value is set on the consumer after faust creates it and before it starts (aiokafka hands it
    to its fetcher in ``start``)."""
    cls = faust_aiokafka.AIOKafkaConsumerThread
    create = getattr(cls._create_worker_consumer, "__wrapped__", cls._create_worker_consumer)

    @functools.wraps(create)
    def _create_worker_consumer(self, transport):
        consumer = create(self, transport)
        consumer._fetch_max_wait_ms = max_wait_ms
        return consumer

    cls._create_worker_consumer = _create_worker_consumer


def make_app(app_id: str, settings: CommonSettings, web_port: int,
             publish_on_commit: bool = False) -> faust.App:
    """``publish_on_commit``: records an agent sends are attached to the offset being processed,
    published when that offset is committed, and the commit waits for the broker's
    acknowledgement of all of them (faust's ``stream_publish_on_commit``). At-least-once without
    waiting for each record's acknowledgement inside the agent. A record that cannot be published
    crashes the worker rather than committing past it."""
    bound_fetch_wait(settings.kafka_fetch_max_wait_ms)
    eager_drain()
    datadir = Path(os.environ.get("CSP_HOME", ".local/stack")) / "faust" / app_id
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        autodiscover=False,
        value_serializer="raw",
        key_serializer="raw",
        # Topics come from contracts via deploy/local/topics.py; faust must not invent any.
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        stream_publish_on_commit=publish_on_commit,
        producer_acks=-1,
        broker_commit_every=settings.kafka_commit_every,
        stream_buffer_maxsize=settings.stream_buffer_maxsize,
        broker_commit_interval=settings.kafka_commit_interval_seconds,
        broker_session_timeout=settings.kafka_session_timeout_seconds,
        broker_heartbeat_interval=settings.kafka_heartbeat_seconds,
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
            return self.json({"status": "ready" if ready else "not ready", "assigned": assigned},
                             status=200 if ready else 503)

    return app


def _update_lag(app: faust.App) -> None:
    """Lag per assigned partition from the consumer's own view of highwater and committed offset.

    Partitions this worker no longer owns (after a rebalance) are dropped, so that summing the
    gauge across workers does not count a partition twice.
    """
    worker = app.conf.id.removeprefix("csp-")
    try:
        consumer = app.consumer
        owned = set()
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            committed = consumer._committed_offset.get(tp) if hasattr(consumer, "_committed_offset") else None
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
