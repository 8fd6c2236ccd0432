"""The demo's funding flows, at the seeds' scale: the Somerset VCSE alliance and a small-grants scheme.

The chain is the one the seeds describe: "funding flowed from the CCG, to the Trust and then to
Rethink Mental Illness as the accountable organisation for the VCSE alliance. This was then shared
out depending on which partner is leading on delivering which part of the co-produced model"
(004:282). The seeds name the trust (Somerset NHS Foundation Trust, 004:610) and the lead body
(Rethink Mental Illness, 004:81, 004:282) but no member of the alliance; the Somerset Racial
Equality Council is a Somerset voluntary organisation the seeds do name (001:1287), and the other
members and the grant holders are illustrative, marked so in their names.

Grants are Value Added Grant sized, "ranging from \u00a3500 to 10,000" (001:739). The data is built
so that each funding flow rule fires (:func:`expected_alerts`):

* payment stuck in the chain: this quarter's money has sat at the trust for 20 days;
* alliance member unpaid: last quarter the lead body paid two members and not the carers' group;
* grant not paid: a grant that started ten days ago is unpaid;
* grant unspent: a paid grant due to be spent within a month is mostly unspent.

Event ids derive from the demo's anchor day, so a second run answers 'duplicate'.
"""

from __future__ import annotations

import json
import sys
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import httpx

from contracts.events import AlertRule
from contracts.places import AREAS
from services.common.auth import KeyStore, Role
from services.common.db import create_pool
from services.common.organisations import Registry
from services.common.settings import CommonSettings

AREA = "SOM"
NS = uuid.UUID("6d1f0a52-93c4-4b7e-a0d8-2f5c9e41b7a3")
QUARTER_DAYS = 91
#: Quarterly payments into the alliance: about 180,000 a year (local default, demo scale).
QUARTER_GBP = 45_000.0
COMMISSIONER = {"organisation_id": "somerset-icb", "role": "commissioner", "name": "Somerset commissioners"}


@dataclass(frozen=True)
class Org:
    id: str
    name: str
    kind: str


TRUST = Org("somerset-nhs-ft", "Somerset NHS Foundation Trust", "nhs_trust")
LEAD = Org("rethink-somerset", "Rethink Mental Illness (Somerset VCSE alliance lead)", "vcse_provider")
MEMBERS = {  # member -> share of the alliance's money
    Org("somerset-rec", "Somerset Racial Equality Council", "vcse_provider"): 0.3,
    Org("som-peer-support", "Somerset peer support network (illustrative)", "vcse_provider"): 0.25,
    Org("som-carers-group", "Somerset carers' group (illustrative)", "faith_or_community_group"): 0.15,
}
UNPAID_MEMBER = "som-carers-group"
SCHEME = Org("som-small-grants", "Somerset community small grants (illustrative)", "vcse_provider")
#: A dozen grants, 500 to 10,000 pounds (001:739): (holder, amount, days from the anchor to its
#: start, to its spend-by date, share spent).
GRANTS = [
    ("chard-bme-forum", 2_500, -200, -20, 1.0),
    ("yeovil-polish-club", 5_000, -180, 40, 0.9),
    ("taunton-faith-forum", 10_000, -150, 120, 0.6),
    ("bridgwater-refugee-group", 750, -140, -10, 1.0),
    ("frome-traveller-support", 1_200, -120, 60, 0.8),
    ("minehead-chinese-elders", 500, -100, 90, 0.5),
    ("glastonbury-peer-club", 3_000, -90, 150, 0.4),
    ("wells-african-women", 4_000, -80, 200, 0.3),
    ("street-carers-cafe", 6_000, -60, 250, 0.2),
    ("burnham-youth-voice", 8_000, -45, 300, 0.1),
    ("shepton-bangladeshi-assoc", 2_000, -10, 170, 0.0),  # not paid: started ten days ago
    ("ilminster-dual-heritage", 3_500, -150, 25, 0.2),  # paid, due within a month, mostly unspent
]
UNPAID_GRANT, UNSPENT_GRANT = "shepton-bangladeshi-assoc", "ilminster-dual-heritage"


def _id(day0: date, *parts: object) -> str:
    return str(uuid.uuid5(NS, ":".join(map(str, (day0, *parts)))))


def _party(org: Org, role: str) -> dict:
    return {"organisation_id": org.id, "role": role, "name": org.name}


def _at(day0: date, days_ago: int) -> str:
    return datetime.combine(day0 - timedelta(days=days_ago), time(10), timezone.utc).isoformat()


def quarter(day0: date, k: int) -> tuple[date, date]:
    """The ``k``-th quarter (91 days) back from the anchor; 0 ends on it."""
    end = day0 - timedelta(days=QUARTER_DAYS * k)
    return end - timedelta(days=QUARTER_DAYS - 1), end


def _flow(
    day0: date,
    source: Org,
    kind: str,
    payer: dict,
    payee: dict,
    amount: float,
    days_ago: int,
    reference: str,
    period: tuple[date, date],
    alliance: bool = True,
    grant: dict | None = None,
) -> dict:
    data = {
        "kind": kind,
        "reference": reference,
        "payer": payer,
        "payee": payee,
        "amount_gbp": amount,
        "period_start": period[0].isoformat(),
        "period_end": period[1].isoformat(),
    }
    if alliance:
        data["alliance_id"] = LEAD.id
    if grant is not None:
        data["grant"] = grant
    return {
        "event_id": _id(day0, kind, reference, payee["organisation_id"], days_ago),
        "source": source.id,
        "occurred_at": _at(day0, days_ago),
        "area": AREA,
        "region": AREAS[AREA].region.value,
        "type": "uk.nhs.commissioning.funding.v1",
        "data": data,
    }


def alliance_flows(day0: date) -> list[dict]:
    """Four quarters of the chain commissioner -> trust -> lead body -> members. This quarter's
    money sits at the trust; last quarter the carers' group was left out."""
    trust, lead = _party(TRUST, "trust"), _party(LEAD, "lead_body")
    out = []
    for k in (3, 2, 1, 0):
        period = quarter(day0, k)
        ref = f"SOM-CMH-{period[0]:%Y%m%d}"
        paid = QUARTER_DAYS * k + 20  # the commissioner pays 20 days into the quarter's end
        out.append(_flow(day0, TRUST, "commitment", _party(TRUST, "trust"), lead, QUARTER_GBP, paid + 5, ref, period))
        out.append(_flow(day0, TRUST, "payment", COMMISSIONER, trust, QUARTER_GBP, paid, ref, period))
        if k == 0:
            continue  # the trust is late passing it on
        out.append(_flow(day0, LEAD, "payment", trust, lead, QUARTER_GBP, paid - 6, ref, period))
        for member, share in MEMBERS.items():
            if k == 1 and member.id == UNPAID_MEMBER:
                continue
            out.append(
                _flow(
                    day0, LEAD, "payment", lead, _party(member, "member"), QUARTER_GBP * share, paid - 12, ref, period
                )
            )
    return out


def grant_flows(day0: date) -> list[dict]:
    """A dozen small grants: awarded, paid by their start (one not), spent as reported."""
    scheme = _party(SCHEME, "grant_scheme")
    out = []
    for n, (holder, amount, start_in, spend_in, spent) in enumerate(GRANTS, 1):
        start, spend_by = day0 + timedelta(days=start_in), day0 + timedelta(days=spend_in)
        ref = f"SG-{n:02d}"
        payee = {"organisation_id": holder, "role": "grant_recipient"}
        period = (start, max(start, min(spend_by, day0)))
        terms = {
            "scheme": SCHEME.id,
            "start_date": start.isoformat(),
            "spend_by": spend_by.isoformat(),
            "conditions": [
                "Spent on the project's venues, materials and administration",
                "A spend report each quarter",
            ],
        }
        awarded = -start_in + 30
        out.append(
            _flow(
                day0,
                SCHEME,
                "grant_award",
                scheme,
                payee,
                float(amount),
                awarded,
                ref,
                period,
                alliance=False,
                grant=terms,
            )
        )
        if holder == UNPAID_GRANT:
            continue
        out.append(
            _flow(day0, SCHEME, "payment", scheme, payee, float(amount), -start_in + 2, ref, period, alliance=False)
        )
        out.append(
            _flow(day0, SCHEME, "spend_report", scheme, payee, round(amount * spent, 2), 3, ref, period, alliance=False)
        )
    return out


def build_events(day0: date) -> dict[str, list[dict]]:
    """Each posting organisation's flows: the trust's, the lead body's, the grant scheme's."""
    out: dict[str, list[dict]] = {TRUST.id: [], LEAD.id: [], SCHEME.id: []}
    for e in alliance_flows(day0) + grant_flows(day0):
        out[e["source"]].append(e)
    return out


def shares() -> dict[str, dict[str, float]]:
    """The alliance as the registry keeps it: lead body -> member -> share."""
    return {LEAD.id: {m.id: s for m, s in MEMBERS.items()}}


def expected_alerts(day0: date) -> dict[AlertRule, tuple[str, str]]:
    """Where each funding flow rule fires: (area, subject)."""
    now_q, last_q = quarter(day0, 0), quarter(day0, 1)
    unpaid_n = next(n for n, g in enumerate(GRANTS, 1) if g[0] == UNPAID_GRANT)
    unspent_n = next(n for n, g in enumerate(GRANTS, 1) if g[0] == UNSPENT_GRANT)
    return {
        AlertRule.PAYMENT_STUCK_IN_CHAIN: (AREA, f"payment:SOM-CMH-{now_q[0]:%Y%m%d}:{TRUST.id}:{now_q[0]}"),
        AlertRule.ALLIANCE_MEMBER_UNPAID: (AREA, f"member:{LEAD.id}:{UNPAID_MEMBER}:{last_q[0]}"),
        AlertRule.GRANT_NOT_PAID: (AREA, f"grant:{SCHEME.id}:SG-{unpaid_n:02d}:{UNPAID_GRANT}"),
        AlertRule.GRANT_UNSPENT: (AREA, f"grant:{SCHEME.id}:SG-{unspent_n:02d}:{UNSPENT_GRANT}"),
    }


async def _register_and_keys(pool, path: Path) -> dict[str, dict]:
    registry = Registry(pool, cache_seconds=0)
    for org in (TRUST, LEAD, SCHEME, *MEMBERS):
        await registry.register(org.id, name=org.name, kind=org.kind)
        await registry.add(org.id, areas=[AREA])
    await registry.register(LEAD.id, members=[m.id for m in MEMBERS], shares=shares()[LEAD.id])
    out: dict[str, dict] = json.loads(path.read_text()) if path.exists() else {}
    store = KeyStore(pool, cache_seconds=0)
    for org in (TRUST, LEAD, SCHEME):
        if org.id not in out:
            key_id, token = await store.create(org.id, Role.PARTNER, [], "demo", org.name, org.kind)
            out[org.id] = {"role": "partner", "key_id": key_id, "api_key": token}
    path.write_text(json.dumps(out, indent=2))
    path.chmod(0o600)
    return out


async def load(home: Path, intake: str, day0: date) -> bool:
    """Register the alliance (members and shares) and the posting organisations, and post their
    flows through intake; False when intake refuses one."""
    pool = await create_pool(CommonSettings().pg_dsn, 1, 2, schema="registry")
    try:
        keys = await _register_and_keys(pool, home / "demo-funding-keys.json")
    finally:
        await pool.close()
    posted = 0
    async with httpx.AsyncClient(timeout=60) as client:
        for org, events in build_events(day0).items():
            r = await client.post(
                intake + "/v1/funding-events:batch",
                json={"events": events},
                headers={"Authorization": f"Bearer {keys[org]['api_key']}"},
            )
            if r.status_code != 200 or r.json()["counts"].get("rejected"):
                print(f"demo: funding flows of {org}: HTTP {r.status_code}: {r.text[:300]}", file=sys.stderr)
                return False
            posted += len(events)
    print(f"demo: {posted} funding flows posted (the Somerset VCSE alliance and {len(GRANTS)} small grants)")
    return True
