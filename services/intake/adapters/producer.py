"""Kafka producer adapter: acks=all, idempotent, keyed by area; answers only after the broker acked."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Callable, cast

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from aiokafka.partitioner import DefaultPartitioner
from prometheus_client import Counter, Histogram

from services.common.coalesce import Coalescer

log = logging.getLogger(__name__)

#: The Java client's partitioner (murmur2 of the key): an area lands where any producer puts it.
_PARTITIONER = DefaultPartitioner()


@functools.lru_cache(maxsize=10_000)  # keys are area codes, a few dozen per topic layout
def _home(key: bytes, partitions: tuple[int, ...]) -> int:
    """The partition of ``key`` among ``partitions``; the partitioner hashes in Python, so each
    key is hashed once per layout rather than once per record."""
    every = list(partitions)
    return _PARTITIONER(key, every, every)


PRODUCE_SECONDS = Histogram(
    "csp_intake_kafka_produce_duration_seconds",
    "Time from send to broker acknowledgement.",
    ["topic"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
PRODUCE_ERRORS = Counter("csp_intake_kafka_produce_errors_total", "Produce attempts that failed.", ["topic", "reason"])
LATE_ACKS = Counter(
    "csp_intake_kafka_late_acks_total",
    "Records acknowledged by the broker after intake had already answered 503.",
    ["topic"],
)

#: Called as (topic, headers, partition, offset) when a timed-out record is acknowledged later.
LateAck = Callable[[str, list[tuple[str, bytes]], int, int], None]


class BrokerUnavailable(Exception):
    pass


class Publisher:
    """Wraps one AIOKafkaProducer; starts lazily so intake comes up (and answers 503) without Kafka."""

    def __init__(self, bootstrap: str, timeout_s: float) -> None:
        self.bootstrap = bootstrap
        self.timeout_s = timeout_s
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self._flush = Coalescer(self._publish_now, "intake_kafka_publish")
        self.on_late_ack: LateAck | None = None

    async def _ensure(self) -> AIOKafkaProducer:
        if self._producer is not None:
            return self._producer
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap,
                    acks="all",
                    enable_idempotence=True,
                    linger_ms=2,
                    request_timeout_ms=int(self.timeout_s * 1000),
                    max_batch_size=1 << 20,
                    compression_type=None,
                    client_id="csp-intake",
                )
                try:
                    await asyncio.wait_for(producer.start(), self.timeout_s)
                except (asyncio.TimeoutError, KafkaError, OSError) as exc:
                    await producer.stop()
                    PRODUCE_ERRORS.labels("-", "connect").inc()
                    raise BrokerUnavailable(f"Kafka not reachable: {exc!r}") from exc
                self._producer = producer
                log.info("kafka producer started", extra={"bootstrap": self.bootstrap})
        return self._producer

    async def ready(self) -> bool:
        """True when a broker answers a metadata request now (not merely once, at start-up)."""
        try:
            producer = await self._ensure()
            await asyncio.wait_for(producer.client.fetch_all_metadata(), min(2.0, self.timeout_s))
            return True
        except (BrokerUnavailable, asyncio.TimeoutError, KafkaError, OSError):
            return False

    async def publish_many(
        self, records: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]
    ) -> list[tuple[int, int] | Exception]:
        """Send all, then wait for the acknowledgements. Per record: (partition, offset) or the error.

        Calls in flight together go as one (services.common.coalesce): fifty requests of 500
        events make a few large record batches per partition, not fifty small ones each waiting
        for the one before it (the producer has one request in flight per broker)."""
        return await self._flush(records)

    async def _publish_now(
        self, records: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]
    ) -> list[tuple[int, int] | Exception]:
        """Send all, then wait for the acknowledgements. Per record: (partition, offset) or the error.

        Records are placed by their key with the producer's partitioner (murmur2, as the Java
        client) and go, in order, as record batches of their own per partition (as large as the
        producer allows), so a flush of 500 events costs a few batches and futures rather than
        500 of each. The idempotent producer numbers a batch when it is drained.
        """
        try:
            producer = await self._ensure()
        except BrokerUnavailable as exc:
            return [exc] * len(records)
        start = time.perf_counter()
        deadline = time.monotonic() + self.timeout_s  # for the whole flush, not each step

        def left() -> float:
            return max(0.001, deadline - time.monotonic())

        results: list[tuple[int, int] | Exception | None] = [None] * len(records)
        try:
            placed = await asyncio.wait_for(self._place(producer, records), left())
        except (KafkaError, OSError, asyncio.TimeoutError) as exc:
            for topic, *_rest in records:
                PRODUCE_ERRORS.labels(topic, type(exc).__name__).inc()
            return [exc] * len(records)
        sent: list[tuple[asyncio.Future, int, list[int]]] = []  # (future, partition, record indexes)
        try:
            # send_batch waits while an earlier batch for the partition is still queued (one that
            # timed out, say): bounded, all partitions together, by what is left of the flush's time.
            async with asyncio.timeout(left()):
                for (topic, partition), indexes in placed.items():
                    try:
                        for batch, members in self._batches(producer, records, indexes):
                            sent.append(
                                (await producer.send_batch(batch, topic, partition=partition), partition, members)
                            )
                    except (KafkaError, OSError) as exc:
                        for i in indexes:
                            if results[i] is None:
                                results[i] = exc
        except TimeoutError as exc:
            queued = {i for *_, members in sent for i in members}
            for i, result in enumerate(results):
                if result is None and i not in queued:
                    results[i] = exc
        futures = [f for f, *_ in sent]
        if futures:
            await asyncio.wait(futures, timeout=left())
        elapsed = time.perf_counter() - start
        for fut, partition, members in sent:
            topic = records[members[0]][0]
            if not fut.done():
                # The batch stays in the producer's buffer and may still reach the broker once it is
                # back. We answer 503; a late acknowledgement is recorded so a retry is a duplicate.
                fut.add_done_callback(functools.partial(self._late, [records[i] for i in members]))
                outcome: Exception | None = asyncio.TimeoutError()
            elif fut.exception() is not None:
                # aiokafka fails a batch's future with a KafkaError, never a bare BaseException.
                outcome = cast(Exception, fut.exception())
            else:
                outcome = None
                base = fut.result().offset
                for n, i in enumerate(members):
                    results[i] = (partition, base + n)
                PRODUCE_SECONDS.labels(topic).observe(elapsed)
            if outcome is not None:
                PRODUCE_ERRORS.labels(topic, type(outcome).__name__).inc()
                for i in members:
                    results[i] = outcome
        return results  # type: ignore[return-value]

    async def _place(self, producer: AIOKafkaProducer, records) -> dict[tuple[str, int], list[int]]:
        """Record indexes by (topic, partition), in their order; waits for the topics' metadata."""
        partitions: dict[str, tuple[int, ...]] = {}
        for topic in dict.fromkeys(r[0] for r in records):
            partitions[topic] = tuple(sorted(await producer.partitions_for(topic)))
        placed: dict[tuple[str, int], list[int]] = {}
        for i, (topic, key, _value, _headers) in enumerate(records):
            placed.setdefault((topic, _home(key, partitions[topic])), []).append(i)
        return placed

    @staticmethod
    def _batches(producer: AIOKafkaProducer, records, indexes: list[int]):
        """Record batches holding ``indexes`` in order, each as large as the producer allows, and
        closed: complete, so the producer sends them at once instead of lingering for more."""
        batch = producer.create_batch()
        members: list[int] = []
        for i in indexes:
            _topic, key, value, headers = records[i]
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                if not members:
                    raise MessageSizeTooLargeError(f"{len(value)} bytes do not fit a record batch")
                yield batch, members  # full: append() closed it
                batch, members = producer.create_batch(), []
                if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                    raise MessageSizeTooLargeError(f"{len(value)} bytes do not fit a record batch")
            members.append(i)
        if members:
            batch.close()
            yield batch, members

    def _late(self, records, fut: asyncio.Future) -> None:
        """A batch answered 503 reached the broker after all: report each record's offset."""
        if fut.cancelled() or fut.exception() is not None:
            return
        md = fut.result()
        for n, (topic, _key, _value, headers) in enumerate(records):
            LATE_ACKS.labels(topic).inc()
            log.warning(
                "late broker acknowledgement",
                extra={"topic": topic, "partition": md.partition, "offset": md.offset + n},
            )
            if self.on_late_ack is not None:
                self.on_late_ack(topic, headers, md.partition, md.offset + n)

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
