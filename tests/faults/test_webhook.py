"""The commissioners' webhook receiver down while alerts fire under load: every notification is
retried, and arrives exactly once (signed) after the receiver is back."""

from __future__ import annotations

import asyncio
import secrets
import time

import asyncpg
import pytest

from contracts.vocabulary import Community
from tests.conftest import TEST_ENV, bearer, create_key, http_json, url

from . import downstream
from .harness import AREAS_UNDER_LOAD, Scenario, Timeline, account, assert_books_balance, run
from .load import Sender
from .receiver import FlakyReceiver

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.timeout(1200)]

# The unmet-need findings lead the load, so that alerts fire (and notify) while the receiver is down.
SCENARIO = Scenario(
    "webhook-receiver-down",
    days_ago=(15, 16, 17, 18),
    communities=(Community.BANGLADESHI, Community.INDIAN),
    unmet_first=True,
)
#: How long the receiver stays down at least, and how many notifications must have been refused
#: by then (so the outage really met deliveries).
DOWN_AT_LEAST, REFUSED_AT_LEAST = 20.0, 3


@pytest.fixture
def commissioner(stack) -> dict:
    return create_key(
        "faults-commissioners",
        "commissioner",
        areas=",".join(AREAS_UNDER_LOAD),
        name="Commissioners of the fault-test areas",
    )


async def test_notifications_arrive_once_after_the_receiver_comes_back(whole_stack, load_partners, commissioner):
    receiver = FlakyReceiver()
    receiver.secret = secrets.token_urlsafe(24)
    status, _, sub = http_json(
        "POST",
        url("alerts-api", "/v1/subscriptions"),
        {"areas": list(AREAS_UNDER_LOAD), "channel": "webhook", "target": receiver.url, "secret": receiver.secret},
        bearer(commissioner),
    )
    assert status == 201, sub
    pg = await asyncpg.create_pool(TEST_ENV["CSP_PG_DSN"], min_size=1, max_size=2)
    try:

        async def refused() -> int:
            rows = await downstream.notifications(pg, sub["id"])
            return sum(1 for n in rows if "retry" in n["outcomes"])

        async def fault(sender: Sender, t: Timeline) -> dict:
            # Down from the start: the first alerts of the load meet a closed port.
            t.mark(f"receiver down (port {receiver.port} closed)")
            went_down = time.monotonic()
            deadline = went_down + 150
            while time.monotonic() < deadline:
                if time.monotonic() - went_down >= DOWN_AT_LEAST and await refused() >= REFUSED_AT_LEAST:
                    break
                await asyncio.sleep(1)
            receiver.up()
            t.mark(
                f"receiver back after {time.monotonic() - went_down:.0f}s; "
                f"{await refused()} notifications had been refused"
            )
            return {"receiver_down_seconds": round(time.monotonic() - went_down, 1)}

        result = await run(SCENARIO, load_partners, fault)

        # Retries back off (2 s base, doubling, capped): allow the longest pending one to come due.
        async def delivered() -> list[dict] | None:
            rows = await downstream.notifications(pg, sub["id"])
            return rows if rows and all(n["state"] != "pending" for n in rows) else None

        deadline, rows = time.monotonic() + 180, None
        while time.monotonic() < deadline and not (rows := await delivered()):
            await asyncio.sleep(2)
        rows = rows or await downstream.notifications(pg, sub["id"])
        await asyncio.sleep(2)  # a late second delivery of anything would show now
        arrived = receiver.counts()
        ids = {n["id"] for n in rows}
        not_delivered = [n for n in rows if n["state"] != "delivered" or arrived.get(n["id"], 0) == 0]
        twice = {i: c for i, c in arrived.items() if c > 1}
        strangers = set(arrived) - ids
        unsigned = [a.notification_id for a in receiver.arrivals if not a.signed]
        ledger = await account(
            result,
            notifications_missing=len(not_delivered),
            notifications_extra=sum(c - 1 for c in twice.values()) + len(strangers),
            details={
                "webhook": {
                    "created": len(rows),
                    "delivered_once": sum(1 for i in ids if arrived.get(i) == 1),
                    "retried": sum(1 for n in rows if "retry" in n["outcomes"]),
                    "max_attempts": max((n["attempts"] for n in rows), default=0),
                    "not_delivered": [(n["id"], n["state"], n["outcomes"]) for n in not_delivered][:10],
                    "delivered_more_than_once": twice,
                    "unknown_ids": sorted(strangers)[:10],
                    "unsigned": unsigned[:10],
                }
            },
        )
    finally:
        http_json("DELETE", url("alerts-api", f"/v1/subscriptions/{sub['id']}"), None, bearer(commissioner))
        receiver.down()
        await pg.close()

    assert_books_balance(ledger)
    n = ledger.details["webhook"]
    assert n["created"] > 0 and n["retried"] >= REFUSED_AT_LEAST, n  # the outage met deliveries
    assert n["delivered_once"] == n["created"], n
    assert not n["unsigned"], n
