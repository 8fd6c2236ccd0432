"""The topic-creation step's replication settings (services/common/topics.py)."""

from __future__ import annotations

import pytest

from services.common.topics import replication


def test_one_broker_by_default(monkeypatch):
    monkeypatch.delenv("CSP_KAFKA_REPLICATION", raising=False)
    monkeypatch.delenv("CSP_KAFKA_MIN_INSYNC", raising=False)
    assert replication() == (1, 1)


def test_a_cluster_takes_three_copies_and_two_in_sync(monkeypatch):
    monkeypatch.setenv("CSP_KAFKA_REPLICATION", "3")
    monkeypatch.setenv("CSP_KAFKA_MIN_INSYNC", "2")
    assert replication() == (3, 2)


@pytest.mark.parametrize("factor,insync", [("1", "2"), ("3", "0")])
def test_min_insync_outside_one_to_the_factor_is_refused(monkeypatch, factor, insync):
    monkeypatch.setenv("CSP_KAFKA_REPLICATION", factor)
    monkeypatch.setenv("CSP_KAFKA_MIN_INSYNC", insync)
    with pytest.raises(SystemExit, match="CSP_KAFKA_MIN_INSYNC"):
        replication()
