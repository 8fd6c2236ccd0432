"""Load a realistic demo data set through the intake API, drawn from the seed documents.

    python -m deploy.local.demo

Organisations, places and communities are those the seeds name (Pattigift African Centred
Counselling, Church of God of Prophecy, Support 4 Progress, the Chinese community in Easington,
the Pakistani community in Sheffield, the Somerset VCSE alliance, ...). Event ids are derived
from a fixed anchor date kept in $CSP_HOME, so running it again answers 'duplicate' rather than
adding data twice. Keys are written to $CSP_HOME/demo-keys.json.
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
import uuid
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path

import httpx

from contracts.places import AREAS
from services.common.auth import KeyStore, Role
from services.common.organisations import Registration, Registry
from services.common.db import create_pool
from services.common.migrate import require_current
from services.common.settings import CommonSettings

HOME = Path(os.environ.get("CSP_HOME", ".local/stack"))
INTAKE = f"http://127.0.0.1:{os.environ.get('CSP_INTAKE_PORT', '8081')}"
REPORTING = f"http://127.0.0.1:{os.environ.get('CSP_REPORTING_PORT', '8084')}"
NS = uuid.UUID("6f1d2c1e-3b7a-4e55-9a0e-8c2f4b1d7e21")

# (id, name, kind, area, sector, communities, themes it typically reports)
PARTNERS = [
    ("pattigift", "Pattigift African Centred Counselling", "vcse_provider", "BSOL", "voluntary",
     ["african", "african_caribbean"], ["unmet_need", "cultural_appropriateness", "funding_insecurity"]),
    ("church-of-god-of-prophecy", "Church of God of Prophecy", "faith_or_community_group", "BSOL", None,
     ["african_caribbean"], ["stigma", "pathway_confusion", "community_leadership"]),
    ("bsol-cdw-team", "Birmingham and Solihull community development workers", "community_development_workers",
     "BSOL", None, ["somali", "pakistani", "irish", "african_caribbean"],
     ["service_gap", "access_and_language_barriers", "unmet_need", "joint_working"]),
    ("black-country-cdw", "Black Country community development workers", "community_development_workers",
     "BLKC", None, ["indian", "pakistani", "gypsy_and_traveller"], ["access_and_language_barriers", "service_gap"]),
    ("support-4-progress", "Support 4 Progress", "vcse_provider", "GMAN", "voluntary",
     ["african", "refugees_and_asylum_seekers"], ["unmet_need", "community_organisation_capacity"]),
    ("easington-cdw", "Easington community development worker", "community_development_workers", "EASI", None,
     ["chinese"], ["access_and_language_barriers", "under_use_of_services"]),
    ("sheffield-pakistani-forum", "Sheffield Pakistani community forum", "faith_or_community_group", "SHEF", None,
     ["pakistani"], ["stigma", "unmet_need"]),
    ("east-london-cdw", "East London community development workers", "community_development_workers", "ELON",
     None, ["african_caribbean", "somali", "bangladeshi"], ["over_representation_in_detention", "healthcare_risk"]),
    ("beh-peer-mentoring", "Barnet, Enfield and Haringey peer mentoring", "vcse_provider", "BEH", "voluntary",
     ["african_caribbean", "east_european"], ["innovative_practice", "joint_working"]),
    ("hampshire-partnership-trust", "Hampshire Partnership NHS Trust", "nhs_trust", "HAMP", "statutory",
     ["white_other", "dual_heritage"], ["cultural_appropriateness", "staff_training", "ethnicity_data_gaps"]),
    ("somerset-vcse-alliance", "Somerset VCSE alliance", "vcse_provider", "SOM", "voluntary",
     ["gypsy_and_traveller", "east_european"], ["contract_compliance", "funding_insecurity", "unmet_need"]),
    ("cpft", "Cambridgeshire and Peterborough NHS Foundation Trust", "nhs_trust", "CAMP", "statutory",
     ["east_european", "white_other"], ["service_gap", "ethnicity_data_gaps"]),
    ("bsol-mental-health-trust", "Birmingham and Solihull Mental Health NHS Foundation Trust", "nhs_trust", "BSOL",
     "statutory", ["african_caribbean", "pakistani"], ["under_use_of_services", "evidence_for_decommissioning"]),
    ("northampton-voluntary-forum", "Northampton voluntary mental health forum", "vcse_provider", "NHAM",
     "voluntary", ["african_caribbean", "irish"], ["funding_insecurity", "community_organisation_capacity"]),
]
COMMISSIONERS = [
    ("bsol-icb", "Birmingham and Solihull commissioners", ["BSOL", "BLKC"]),
    ("somerset-icb", "Somerset commissioners", ["SOM"]),
]
SOURCES = ["community_forum", "consultation", "mapping_exercise", "community_audit", "survey",
           "focus_group", "reverse_commissioning_workshop", "outreach", "literature_review"]
SUMMARIES = {
    "unmet_need": "Families describe no culturally appropriate support after discharge and rely on faith groups.",
    "service_gap": "No interpreting in the crisis pathway; people leave before assessment.",
    "access_and_language_barriers": "Leaflets and GP letters are in English only; older members cannot read them.",
    "pathway_confusion": "Members do not know how to reach talking therapies without a GP referral.",
    "stigma": "Mental illness is not discussed openly; people wait until crisis.",
    "cultural_appropriateness": "Assessments do not consider cultural and faith context.",
    "staff_training": "Ward staff asked for race equality and cultural competency training.",
    "joint_working": "Trust and community centre agreed joint drop-in sessions.",
    "innovative_practice": "Peer mentors from the community run barbershop conversations about wellbeing.",
    "community_leadership": "Faith leaders volunteered as mental health champions.",
    "community_organisation_capacity": "Small groups lack admin time to bid for contracts.",
    "contract_compliance": "Alliance members need support to meet contract monitoring requirements.",
    "funding_insecurity": "Grant ends at year end with no renewal decision; volunteers cover venue costs.",
    "ethnicity_data_gaps": "Ethnicity is missing or recorded as not stated for many referrals.",
    "under_use_of_services": "Few referrals from this community despite its share of the population.",
    "over_representation_in_detention": "Community reports high rates of compulsory detention of young Black men.",
    "healthcare_risk": "Isolation of older members after bereavement raises risk of self-harm.",
    "evidence_for_decommissioning": "Day service is rarely used by the community it was commissioned for.",
}
INDICATOR_PLAN = [  # (indicator, target, base value, spread)
    ("four_week_wait", 95.0, 86.0, 6.0),
    ("seven_day_follow_up", 95.0, 93.0, 4.0),
    ("ethnicity_recording_completeness", 90.0, 84.0, 6.0),
    ("smi_physical_health_check", 60.0, 55.0, 8.0),
]


def anchor() -> date:
    path = HOME / "demo-anchor"
    if path.exists():
        return date.fromisoformat(path.read_text().strip())
    HOME.mkdir(parents=True, exist_ok=True)
    today = datetime.now(timezone.utc).date()
    path.write_text(today.isoformat())
    return today


def build_events(day0: date) -> dict[str, list[dict]]:
    rng = random.Random(20091)  # the seeds' year, for a fixed demo
    out: dict[str, list[dict]] = {p[0]: [] for p in PARTNERS}
    for pid, name, _kind, area, sector, communities, themes in PARTNERS:
        region = AREAS[area].region.value
        n = rng.randint(14, 30)
        for i in range(n):
            # From yesterday back: a time later today could still be ahead of the clock, and
            # intake refuses an event from the future.
            day = day0 - timedelta(days=rng.randint(1, 89))
            theme = rng.choice(themes)
            when = datetime.combine(day, dtime(rng.randint(9, 19), rng.choice((0, 15, 30, 45))), timezone.utc)
            out[pid].append({
                "event_id": str(uuid.uuid5(NS, f"{day0}:{pid}:finding:{i}")),
                "source": pid, "occurred_at": when.isoformat(), "area": area, "region": region,
                "type": "uk.nhs.commissioning.finding.v1",
                "data": {"community": rng.choice(communities), "theme": theme,
                         "severity": rng.choices(["low", "moderate", "high", "critical"], [3, 4, 3, 1])[0],
                         "people_affected": rng.randint(3, 120), "finding_source": rng.choice(SOURCES),
                         "summary": SUMMARIES[theme]},
            })
        if sector is None:
            continue
        end = day0.replace(day=1) - timedelta(days=1)  # the last complete month first
        for month in range(3):
            start = end.replace(day=1)
            for indicator, target, base, spread in INDICATOR_PLAN:
                denominator = rng.randint(80, 300)
                value = max(0.0, min(100.0, rng.gauss(base, spread)))
                out[pid].append(_performance(pid, name, area, region, sector, indicator, start, end,
                                             round(value, 1), target, denominator, day0, month))
            if sector == "voluntary":
                required = rng.choice([50_000, 75_000, 120_000])
                committed = required * rng.choice([0.55, 0.8, 1.0])
                out[pid].append(_performance(pid, name, area, region, sector, "funding", start, end,
                                             committed, required, None, day0, month,
                                             funding_committed_gbp=committed, funding_required_gbp=required))
            end = start - timedelta(days=1)
    return out


def _performance(pid, name, area, region, sector, indicator, start, end, value, target, denominator,
                 day0, month, **extra) -> dict:
    data = {"provider_id": pid, "provider_name": name, "provider_sector": sector, "indicator": indicator,
            "period_start": start.isoformat(), "period_end": end.isoformat(), "value": value,
            "target": target, **extra}
    if denominator is not None:
        data["denominator"] = denominator
        data["numerator"] = min(denominator, round(denominator * value / 100.0))
    return {"event_id": str(uuid.uuid5(NS, f"{day0}:{pid}:{indicator}:{month}")), "source": pid,
            # Reported on the period's last day (never later than yesterday: see build_events).
            "occurred_at": datetime.combine(end, dtime(18), timezone.utc).isoformat(),
            "area": area, "region": region, "type": "uk.nhs.commissioning.performance.v1", "data": data}


def registrations() -> dict[str, Registration]:
    """What the demo registers for each partner (services.common.organisations): the one area it
    serves, reporting for itself as a provider and for no other. The seeds name no members of the
    Somerset VCSE alliance, so it is registered with none."""
    return {pid: Registration(pid, name, kind, areas=frozenset({area}), reports_for=frozenset({pid}))
            for pid, name, kind, area, *_ in PARTNERS}


async def register(pool) -> None:
    """Register every demo partner, on every run, so a stack whose keys predate the registry is
    brought up to date too."""
    registry = Registry(pool, cache_seconds=0)
    for pid, r in registrations().items():
        await registry.register(pid, name=r.name, kind=r.kind, areas=sorted(r.areas),
                                provider_ids=sorted(r.provider_ids), members=sorted(r.members))


async def keys() -> dict[str, dict]:
    dsn = CommonSettings().pg_dsn
    await require_current(dsn)
    pool = await create_pool(dsn, 1, 2)
    path = HOME / "demo-keys.json"
    try:
        await register(pool)
        if path.exists():
            return json.loads(path.read_text())
        return await _new_keys(pool, path)
    finally:
        await pool.close()


async def _new_keys(pool, path: Path) -> dict[str, dict]:
    """A key for every demo organisation, written to ``path`` (shown once, kept for the next run)."""
    store = KeyStore(pool, cache_seconds=0)
    out: dict[str, dict] = {}
    for pid, name, kind, _area, *_ in PARTNERS:
        key_id, token = await store.create(pid, Role.PARTNER, [], "demo", name, kind)
        out[pid] = {"role": "partner", "key_id": key_id, "api_key": token}
    for cid, name, areas in COMMISSIONERS:
        key_id, token = await store.create(cid, Role.COMMISSIONER, areas, "demo", name, "commissioner")
        out[cid] = {"role": "commissioner", "areas": areas, "key_id": key_id, "api_key": token}
    key_id, token = await store.create("platform-operations", Role.OPERATOR, [], "demo",
                                       "Platform operations", "commissioner")
    out["platform-operations"] = {"role": "operator", "key_id": key_id, "api_key": token}
    path.write_text(json.dumps(out, indent=2))
    path.chmod(0o600)
    return out


async def main() -> int:
    day0 = anchor()
    k = await keys()
    events = build_events(day0)
    total = sum(len(v) for v in events.values())
    print(f"demo: posting {total} events from {len(events)} partner organisations (anchor {day0})")
    counts: dict[str, int] = {}
    async with httpx.AsyncClient(timeout=30) as client:
        for pid, items in events.items():
            headers = {"Authorization": f"Bearer {k[pid]['api_key']}"}
            for kind, path in (("finding", "/v1/findings:batch"), ("performance", "/v1/performance-events:batch")):
                batch = [e for e in items if kind in e["type"]]
                if not batch:
                    continue
                r = await client.post(INTAKE + path, json={"events": batch}, headers=headers)
                if r.status_code != 200:
                    print(f"demo: {pid} {kind}: HTTP {r.status_code}: {r.text[:300]}", file=sys.stderr)
                    return 1
                for status, n in r.json()["counts"].items():
                    counts[status] = counts.get(status, 0) + n
            print(f"demo: {pid:<30} {len(items):>3} events posted")
    print(f"demo: intake answered {counts}")
    if counts.get("rejected"):
        return 1
    op = {"Authorization": f"Bearer {k['platform-operations']['api_key']}"}
    deadline = time.monotonic() + 120
    async with httpx.AsyncClient(timeout=10) as client:
        while time.monotonic() < deadline:
            r = await client.get(REPORTING + "/v1/reports/summary", params={"days": 400}, headers=op)
            seen = r.json()["events"]["current"] if r.status_code == 200 else -1
            print(f"demo: reporting counts {seen}/{total} events", flush=True)
            if seen >= total:
                return 0
            await asyncio.sleep(2)
    print("demo: reporting did not catch up within 120s (see the worker logs)", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
