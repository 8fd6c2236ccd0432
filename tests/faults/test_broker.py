"""The Kafka broker killed with SIGKILL mid-load and started again on the same log directory."""

from __future__ import annotations

import asyncio

import pytest

from contracts.vocabulary import Community

from .harness import Scenario, Timeline, account, assert_books_balance, run, script
from .load import Sender

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.timeout(1200)]

SCENARIO = Scenario(
    "broker-killed", days_ago=(3, 4, 5, 6), communities=(Community.AFRICAN, Community.AFRICAN_CARIBBEAN)
)


async def test_broker_killed_and_restarted_loses_and_doubles_nothing(whole_stack, load_partners):
    async def fault(sender: Sender, t: Timeline) -> dict:
        await sender.reached(0.3)
        await script("kafka.sh", "kill")
        t.mark("Kafka SIGKILLed")
        await asyncio.sleep(5)
        await script("kafka.sh", "start", timeout=180)
        t.mark("Kafka restarted and ready")
        return {}

    ledger = await account(await run(SCENARIO, load_partners, fault))
    # While the broker was gone intake answered 503 (with Retry-After) and the partners retried.
    assert ledger.details["http"].get("503", 0) > 0, ledger.details["http"]
    assert_books_balance(ledger)
