"""Where intake's publisher puts each record: the Java client's partitioner, remembered per key
for as long as the topic's partitions stay the same (services.intake.adapters.producer)."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from contracts.places import AREAS
from services.intake.adapters.producer import Publisher


class Partitions:
    """Answers partitions_for as a producer's metadata would; the count can change."""

    def __init__(self, count: int) -> None:
        self.count = count

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(self.count))


def _expected(key: bytes, count: int) -> int:
    every = list(range(count))
    return DefaultPartitioner()(key, every, every)


async def test_each_key_goes_where_the_java_partitioner_puts_it_and_follows_a_partition_change():
    publisher = Publisher("127.0.0.1:1", 1.0)
    metadata = Partitions(6)
    keys = [code.encode() for code in AREAS]
    records = [("intake.findings.v1", key, b"{}", []) for key in keys * 2]  # every key twice
    for count in (6, 12):
        metadata.count = count
        placed = await publisher._place(metadata, records)
        where = {records[i][1]: p for (_topic, p), indexes in placed.items() for i in indexes}
        assert where == {key: _expected(key, count) for key in keys}
        # In order within each partition, each record once.
        assert sorted(i for indexes in placed.values() for i in indexes) == list(range(len(records)))
        assert all(indexes == sorted(indexes) for indexes in placed.values())
    assert len({_expected(k, 6) for k in keys}) > 1 and any(_expected(k, 6) != _expected(k, 12) for k in keys)
