"""Demo peer review returns: one per Focused Implementation Site the seeds name in an area the
platform knows, posted through intake by the demo partner of that area, with recommendations,
some of which the area's commissioners answer.

Called from :func:`deploy.local.demo.main`. Event ids derive from the demo's anchor day, so a
second run answers 'duplicate' and answers nothing twice.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time as dtime, timedelta, timezone

import httpx

from contracts.citations import SeedRef, seed
from contracts.peer_review import PEER_REVIEW_TYPE, ReviewQuestion, recommendation_id
from contracts.places import AREAS

#: Reviews took place "between 11th October and 8th December 2006" (001:10); the demo dates
#: each site's review this many days before its anchor day, its return two days later.
REVIEWED_DAYS_AGO = (100, 96, 92, 88, 84, 80)


@dataclass(frozen=True)
class Site:
    """A Focused Implementation Site the seeds name, the area it is in, and who posts its return."""

    area: str
    name: str
    poster: str
    named: SeedRef
    answers: tuple[tuple[str, int], ...]  # one (answer, rating) per question, in order
    recommendations: tuple[tuple[str, str, str], ...]  # (recommendation, community, theme)


SITES: tuple[Site, ...] = (
    Site(
        "BSOL",
        "Birmingham and Black Country FIS",
        "bsol-cdw-team",
        seed(
            "001", 42, "The BBC FIS has established links with the Health and Social Care in Criminal Justice Programme"
        ),
        (
            ("Enhanced Care Pathway work with clinical staff is well under way.", 3),
            ("The Offender Care Pathway for BME prisoners, with the criminal justice programme.", 4),
            ("Share pathway results with community groups as they come in.", 2),
            ("Keeping clinical leads engaged once national support for the pilots ends.", 2),
            ("Regional support for clinical engagement and data analysis.", 2),
        ),
        (
            (
                "Report the Enhanced Care Pathway's results to community forums twice a year.",
                "african_caribbean",
                "joint_working",
            ),
            ("Fund a community link worker for the prison in-reach team.", "african_caribbean", "service_gap"),
        ),
    ),
    Site(
        "ELON",
        "Pan-London FIS",
        "east-london-cdw",
        seed("001", 89, "the Pan-London’s FIS project around reducing compulsory detention rates"),
        (
            ("The project has brought detention figures to the community's attention.", 3),
            ("Joint review of detention pathways with community members.", 3),
            ("Agree one measure of compulsory detention across the boroughs.", 2),
            ("Detention rates of young Black men remain high.", 1),
            ("The Count Me In census to measure progress nationally.", 2),
        ),
        (
            (
                "Publish detention rates by ethnic group every quarter, with the community forum.",
                "african_caribbean",
                "over_representation_in_detention",
            ),
            (
                "Map the pathways into detention with families who have been through it.",
                "somali",
                "over_representation_in_detention",
            ),
        ),
    ),
    Site(
        "SOM",
        "Somerset FIS",
        "somerset-vcse-alliance",
        seed("001", 121, "the challenges faced by rural FI sites when developing faith projects"),
        (
            ("The celebration of festivals project reached an acute unit's staff.", 3),
            ("Festival calendars written with local faith leaders.", 3),
            ("Address front line staff's fear of engaging with religious diversity.", 2),
            ("Small, scattered communities in a rural county.", 2),
            ("Links to the spirituality pilot.", 2),
        ),
        (
            (
                "Train acute ward staff in meeting spiritual and faith needs, with local faith leaders.",
                "bme_communities_generally",
                "cultural_appropriateness",
            ),
            (
                "Extend the festivals project to the county's other acute unit.",
                "bme_communities_generally",
                "cultural_appropriateness",
            ),
        ),
    ),
    Site(
        "EASI",
        "County Durham and Tees Valley FIS",
        "easington-cdw",
        seed("001", 143, "Links with the County Durham Tees Valley FIS have been developed"),
        (
            ("A rural delivery group now brings the CDWs and partners together.", 3),
            ("The rural workshop's action plan for the next two years.", 3),
            ("Reach the Chinese community beyond the town centre.", 2),
            ("Distance and isolation in the rural sites.", 1),
            ("Shared learning with the neighbouring FIS.", 3),
        ),
        (
            (
                "Fund transport to the Chinese community's wellbeing sessions.",
                "chinese",
                "access_and_language_barriers",
            ),
            (
                "Translate the crisis line leaflet into Cantonese and Mandarin.",
                "chinese",
                "access_and_language_barriers",
            ),
        ),
    ),
    Site(
        "HAMP",
        "Hampshire FIS",
        "hampshire-partnership-trust",
        seed("001", 481, "Hampshire has demonstrated that a dynamic approach to influencing commissioners"),
        (
            ("CDW recruitment based on careful analysis of need, with commissioners involved.", 4),
            ("CDWs in areas with low BME populations.", 3),
            ("Record ethnicity for every referral, 'not stated' apart.", 2),
            ("Keeping CDW posts funded.", 2),
            ("Regional CDW network meetings.", 3),
        ),
        (
            (
                "Keep the CDW posts in the next year's plan, with their evidence of need.",
                "white_other",
                "community_organisation_capacity",
            ),
            ("Report ethnicity recording with 'not stated' counted apart.", "dual_heritage", "ethnicity_data_gaps"),
        ),
    ),
    Site(
        "NHAM",
        "Northamptonshire FIS",
        "northampton-voluntary-forum",
        seed("001", 756, "The site used the process of identifying what organisations needed"),
        (
            ("The Value Added Grant reached eight voluntary groups.", 4),
            ("One to one meetings to find what each group needed.", 4),
            ("Pay grants on time; half is still to come.", 1),
            ("Small groups have no admin time to bid.", 2),
            ("A small grants scheme run with the forum.", 3),
        ),
        (
            (
                "Pay the rest of the Value Added Grant to the eight groups this quarter.",
                "african_caribbean",
                "funding_insecurity",
            ),
            ("Run a bid-writing session for the forum's member groups.", "irish", "community_organisation_capacity"),
        ),
    ),
)
#: The panel, as 001:8 gives it: one of each kind.
PANEL = {"service_user": 1, "carer": 1, "fis_project_manager": 1, "race_equality_lead": 1}
OWNER = "Mental health commissioning team"


def review_id(day0: date, site: Site) -> str:
    return str(uuid.uuid5(uuid.UUID("7a3f1c52-4e0b-4c9a-9d2e-1b6f0a8c3e47"), f"{day0}/peer-review/{site.area}"))


def returns(day0: date) -> list[dict]:
    """One return per site, with its five answers and its recommendations."""
    out = []
    for site, days in zip(SITES, REVIEWED_DAYS_AGO):
        reviewed = day0 - timedelta(days=days)
        area = AREAS[site.area]
        out.append(
            {
                "event_id": review_id(day0, site),
                "source": site.poster,
                "area": site.area,
                "region": area.region.value,
                "type": PEER_REVIEW_TYPE,
                "occurred_at": datetime.combine(reviewed + timedelta(days=2), dtime(12), timezone.utc).isoformat(),
                "data": {
                    "reviewed_on": reviewed.isoformat(),
                    "site_name": site.name,
                    "panel": PANEL,
                    "answers": [
                        {"question": q.value, "answer": a, "rating": r}
                        for q, (a, r) in zip(ReviewQuestion, site.answers)
                    ],
                    "recommendations": [
                        {"recommendation": t, "community": c, "theme": th} for t, c, th in site.recommendations
                    ],
                },
            }
        )
    return out


def answers(day0: date) -> list[tuple[str, str, list[dict]]]:
    """The commissioners' answers: each site's first recommendation accepted (completed where its
    due date has passed, which is every other site), the second left unanswered, so the demo has
    peer review recommendations answered, completed and not followed up."""
    out = []
    for i, site in enumerate(SITES):
        rid = uuid.UUID(review_id(day0, site))
        rec = str(recommendation_id(rid, 0))
        due = day0 - timedelta(days=10) if i % 2 == 0 else day0 + timedelta(days=60)
        bodies = [
            {
                "response_id": str(uuid.uuid5(rid, "answer/0")),
                "outcome": "accepted",
                "action": site.recommendations[0][0],
                "owner": OWNER,
                "due_date": due.isoformat(),
            }
        ]
        if i % 2 == 0:
            bodies.append(
                {
                    "response_id": str(uuid.uuid5(rid, "answer/1")),
                    "progress": "completed",
                    "note": "Done, and reported back to the site's review panel and forum.",
                }
            )
        out.append((site.area, rec, bodies))
    return out


async def post(
    client: httpx.AsyncClient,
    intake: str,
    alerts_api: str,
    keys: dict[str, dict],
    readers: dict[str, str],
    day0: date,
    wait_seconds: float = 120,
) -> int | None:
    """Post the returns and the answers; the number of answers posted, or None when one is refused.
    ``readers``: the commissioner organisation (a key in ``keys``) that answers for each area."""
    for body in returns(day0):
        r = await client.post(
            intake + "/v1/peer-reviews",
            json=body,
            headers={"Authorization": f"Bearer {keys[body['source']]['api_key']}"},
        )
        if r.status_code not in (200, 202):
            print(f"demo: peer review {body['area']}: HTTP {r.status_code}: {r.text[:300]}", file=sys.stderr)
            return None
    print(f"demo: {len(SITES)} peer review returns posted", flush=True)
    deadline, posted = time.monotonic() + wait_seconds, 0
    for area, rec, bodies in answers(day0):
        headers = {"Authorization": f"Bearer {keys[readers[area]]['api_key']}"}
        path = f"{alerts_api}/v1/areas/{area}/recommendations/{rec}"
        while (r := await client.get(path, headers=headers)).status_code == 404 and time.monotonic() < deadline:
            await asyncio.sleep(1)  # the alerts worker has not recorded it yet
        if r.status_code != 200 or r.json().get("status") != "awaiting_response":
            continue
        for body in bodies:
            r = await client.post(path + "/responses", json=body, headers=headers)
            if r.status_code not in (200, 201):
                print(f"demo: answer to {rec}: HTTP {r.status_code}: {r.text[:300]}", file=sys.stderr)
                return None
            posted += 1
    print(f"demo: commissioners posted {posted} answers to peer review recommendations", flush=True)
    return posted
