"""Kafka producer adapter: acks=all, idempotent, keyed by area; answers only after the broker acked."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from prometheus_client import Counter, Histogram

log = logging.getLogger(__name__)

PRODUCE_SECONDS = Histogram("csp_intake_kafka_produce_duration_seconds",
                            "Time from send to broker acknowledgement.", ["topic"],
                            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
PRODUCE_ERRORS = Counter("csp_intake_kafka_produce_errors_total", "Produce attempts that failed.",
                         ["topic", "reason"])
LATE_ACKS = Counter("csp_intake_kafka_late_acks_total",
                    "Records acknowledged by the broker after intake had already answered 503.", ["topic"])

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
        self.on_late_ack: LateAck | None = None

    async def _ensure(self) -> AIOKafkaProducer:
        if self._producer is not None:
            return self._producer
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True,
                    linger_ms=2, request_timeout_ms=int(self.timeout_s * 1000),
                    max_batch_size=1 << 20, compression_type=None, client_id="csp-intake")
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

    async def publish_many(self, records: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]
                           ) -> list[tuple[int, int] | Exception]:
        """Send all, then wait for each acknowledgement. Per record: (partition, offset) or the error."""
        producer = await self._ensure()
        start = time.perf_counter()
        futures = []
        for topic, key, value, headers in records:
            try:
                futures.append(await producer.send(topic, value=value, key=key, headers=headers))
            except (KafkaError, OSError) as exc:
                futures.append(exc)

        async def wait(fut, record):
            if isinstance(fut, Exception):
                return fut
            try:
                md = await asyncio.wait_for(asyncio.shield(fut), self.timeout_s)
                return md.partition, md.offset
            except asyncio.TimeoutError as exc:
                # The record stays in the producer's buffer and may still reach the broker once it
                # is back. We answered 503; record the late acknowledgement so a retry is a duplicate.
                fut.add_done_callback(lambda f: self._late(record, f))
                return exc
            except (KafkaError, OSError) as exc:
                return exc

        results = await asyncio.gather(*(wait(f, r) for f, r in zip(futures, records)))
        elapsed = time.perf_counter() - start
        for (topic, *_), res in zip(records, results):
            if isinstance(res, Exception):
                PRODUCE_ERRORS.labels(topic, type(res).__name__).inc()
            else:
                PRODUCE_SECONDS.labels(topic).observe(elapsed)
        return results

    def _late(self, record, fut: asyncio.Future) -> None:
        if fut.cancelled() or fut.exception() is not None:
            return
        topic, _key, _value, headers = record
        LATE_ACKS.labels(topic).inc()
        md = fut.result()
        log.warning("late broker acknowledgement", extra={"topic": topic, "partition": md.partition,
                                                          "offset": md.offset})
        if self.on_late_ack is not None:
            self.on_late_ack(topic, headers, md.partition, md.offset)

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
