"""A partner posts only what its organisation may report (security issue, item 2): the areas it
serves and providers not registered to another organisation, per the organisation registry in
PostgreSQL, managed by the keys CLI and the operators' API."""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import uuid
from datetime import datetime, timezone

import pytest

from services.intake.examples import PERFORMANCE
from tests.conftest import REPO, TEST_ENV, bearer, create_key, http_json, url
from tests.hostile.conftest import (
    AREA,
    PARTNER_ORG,
    REGION,
    fields_named,
    finding,
    problem_of,
    raw,
)

pytestmark = pytest.mark.integration


def performance(source: str, area: str, region: str, provider_id: str) -> dict:
    body = copy.deepcopy(PERFORMANCE)
    body.update(event_id=str(uuid.uuid4()), source=source, area=area, region=region,
                occurred_at=datetime.now(timezone.utc).isoformat())
    body["data"].update(provider_id=provider_id, provider_name=provider_id.replace("-", " ").title())
    return body


def post(path: str, body: dict, key: dict) -> tuple[int, dict, bytes]:
    return raw("intake", "POST", path, json.dumps(body).encode(),
               {**bearer(key), "content-type": "application/json"})


def cli(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "services.intake.keys", *args], env={**os.environ, **TEST_ENV},
                         cwd=REPO, capture_output=True, text=True, check=True)
    return out.stdout


@pytest.fixture(scope="module")
def somerset(stack) -> dict:
    """The Somerset VCSE alliance, serving SOM, with a member; its own key."""
    key = create_key("somerset-vcse-alliance", "partner", areas="SOM", name="Somerset VCSE alliance")
    cli("org", "set", "somerset-vcse-alliance", "--members", "mind-in-somerset")
    return key


def test_the_issues_case_is_refused_naming_area_and_provider(actors, somerset):
    body = performance(PARTNER_ORG, "SOM", "south_west", "somerset-vcse-alliance")
    status, headers, answer = post("/v1/performance-events", body, actors["partner"])
    problem = problem_of(status, headers, answer)
    assert status == 403 and fields_named(problem) == {"area", "data.provider_id"}, problem
    # Nothing reached the ledger (so nothing reached Kafka).
    assert http_json("GET", url("reporting", "/v1/reports/findings?area=SOM&days=7"),
                     headers=bearer(actors["operator"]))[0] == 200


def test_another_organisations_provider_is_refused_in_its_own_area_too(actors, somerset):
    body = performance(PARTNER_ORG, AREA, REGION, "somerset-vcse-alliance")
    status, headers, answer = post("/v1/performance-events", body, actors["partner"])
    assert status == 403 and fields_named(problem_of(status, headers, answer)) == {"data.provider_id"}


def test_what_it_may_report_is_accepted(actors):
    status, _, answer = post("/v1/performance-events", performance(PARTNER_ORG, AREA, REGION, PARTNER_ORG),
                             actors["partner"])
    assert status == 202, answer
    status, _, answer = post("/v1/findings", finding(), actors["partner"])
    assert status == 202, answer


def test_an_alliance_lead_reports_for_its_member(somerset):
    body = performance("somerset-vcse-alliance", "SOM", "south_west", "mind-in-somerset")
    status, _, answer = post("/v1/performance-events", body, somerset)
    assert status == 202, answer


def test_a_batch_answers_each_refusal_on_its_own(actors):
    ok, foreign = finding(), finding(area="HAMP", region="south_central")
    status, _, answer = raw("intake", "POST", "/v1/findings:batch", json.dumps({"events": [ok, foreign]}).encode(),
                            {**bearer(actors["partner"]), "content-type": "application/json"})
    results = json.loads(answer)["results"]
    assert status == 200 and [r["http_status"] for r in results] == [202, 403], results
    assert [e["field"] for e in results[1]["errors"]] == ["area"]


def test_the_cli_changes_what_intake_allows(actors):
    org = f"registry-test-{uuid.uuid4().hex[:8]}"
    key = create_key(org, "partner", areas="STAF", name="Registry test group")
    body = finding(source=org, area="SHEF", region="yorkshire_and_humber")
    assert post("/v1/findings", body, key)[0] == 403
    cli("org", "set", org, "--areas", "STAF,SHEF")
    assert post("/v1/findings", body, key)[0] == 202
    shown = json.loads(cli("org", "show", org))
    assert shown["areas"] == ["SHEF", "STAF"]


def test_only_operators_manage_the_registry(actors):
    for who in ("partner", "kent"):
        status, _, problem = http_json("GET", url("intake", "/v1/organisations"), headers=bearer(actors[who]))
        assert status == 403, problem
        status, _, problem = http_json("PUT", url("intake", f"/v1/organisations/{PARTNER_ORG}"),
                                       {"areas": ["KENT", "HAMP"]}, bearer(actors[who]))
        assert status == 403, problem


def test_the_operators_api_registers_and_validates(actors):
    org = f"registry-api-{uuid.uuid4().hex[:8]}"
    status, _, shown = http_json("PUT", url("intake", f"/v1/organisations/{org}"),
                                 {"name": "Fenland peer support", "kind": "vcse_provider", "areas": ["CAMP"],
                                  "provider_ids": ["fenland-peer-support-cafe"]}, bearer(actors["operator"]))
    assert status == 200 and shown["areas"] == ["CAMP"] and "fenland-peer-support-cafe" in shown["reports_for"], shown
    status, _, listing = http_json("GET", url("intake", "/v1/organisations"), headers=bearer(actors["operator"]))
    assert status == 200 and org in {o["id"] for o in listing["items"]}
    status, _, problem = http_json("PUT", url("intake", f"/v1/organisations/{org}"), {"areas": ["ZZZ"]},
                                   bearer(actors["operator"]))
    assert status == 422 and "areas" in fields_named(problem), problem
