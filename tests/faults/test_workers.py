"""The mapping worker and the alerts worker each killed with SIGKILL mid-load, then restarted."""

from __future__ import annotations

import asyncio

import pytest

from contracts.vocabulary import Community

from .harness import Scenario, Timeline, account, assert_books_balance, run, script
from .load import Sender

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.timeout(1200)]

SCENARIO = Scenario("workers-killed", days_ago=(7, 8, 9, 10), communities=(Community.CHINESE, Community.IRISH))


async def test_killed_mapping_and_alerts_workers_lose_and_double_nothing(whole_stack, load_partners):
    async def fault(sender: Sender, t: Timeline) -> dict:
        for worker, at in (("mapping", 0.25), ("alerts", 0.6)):
            await sender.reached(at)
            await script("services.sh", "kill", worker)
            t.mark(f"{worker} SIGKILLed")
            await asyncio.sleep(2)
            await script("services.sh", "start", worker)
            t.mark(f"{worker} restarted and ready")
        return {}

    ledger = await account(await run(SCENARIO, load_partners, fault))
    assert_books_balance(ledger)
