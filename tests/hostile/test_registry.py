"""A partner posts only what its organisation may report (security issue, item 2): the areas it
serves and the providers it reports for (its own id, those registered to it, and for an
alliance's lead body its members'), per the organisation registry in PostgreSQL, managed by the
keys CLI and the operators' API."""

from __future__ import annotations

import copy
import json
import subprocess
import uuid
from datetime import datetime, timezone

import pytest

from contracts.topics import FINDINGS, PERFORMANCE as PERFORMANCE_TOPIC
from contracts.examples import PERFORMANCE
from tests.conftest import bearer, create_key, http_json, keys_cli, url
from tests.hostile.conftest import (
    AREA,
    OTHER_AREA,
    OTHER_REGION,
    PARTNER_ORG,
    REGION,
    end_offsets,
    event_ids,
    fields_named,
    finding,
    problem_of,
    raw,
    records_since,
    sql,
)

pytestmark = pytest.mark.integration

SOM, SOUTH_WEST = "SOM", "south_west"
ALLIANCE = "somerset-vcse-alliance"


def performance(source: str, area: str, region: str, provider_id: str) -> dict:
    """A month's four-week-wait return at 97% against a 95% target (no alert fires on it)."""
    body = copy.deepcopy(PERFORMANCE)
    body.update(
        event_id=str(uuid.uuid4()),
        source=source,
        area=area,
        region=region,
        occurred_at=datetime.now(timezone.utc).isoformat(),
    )
    body["data"].update(
        provider_id=provider_id,
        provider_name=provider_id.replace("-", " ").title(),
        value=97.0,
        numerator=194,
        denominator=200,
    )
    return body


def post(path: str, body: dict, key: dict) -> tuple[int, dict, bytes]:
    return raw("intake", "POST", path, json.dumps(body).encode(), {**bearer(key), "content-type": "application/json"})


def in_ledger(event_id: str) -> bool:
    return bool(sql("SELECT 1 FROM intake_events WHERE event_id = $1::uuid", event_id))


def registration(org: str) -> dict:
    return json.loads(keys_cli("org", "show", org))


@pytest.fixture(scope="module")
def alliance(stack) -> dict:
    """The Somerset VCSE alliance, serving Somerset, and a member organisation with a service of
    its own; the alliance's key. The member joins in the test that needs it."""
    key = create_key(ALLIANCE, "partner", areas=SOM, name="Somerset VCSE alliance")
    keys_cli(
        "org",
        "set",
        "mind-in-somerset",
        "--name",
        "Mind in Somerset",
        "--kind",
        "vcse_provider",
        "--areas",
        SOM,
        "--provider-ids",
        "mind-in-somerset-cafe",
    )
    return key


def test_the_issues_case_is_refused_naming_area_and_provider_and_nothing_is_kept(keys, alliance):
    """Key `pattigift` (Birmingham and Solihull) posted a performance event for SOM about the
    Somerset VCSE alliance and got 202. Now: 403 naming both fields, nothing in the ledger and
    nothing on the topic (so nothing downstream: reporting and alerts read only the topics)."""
    since = end_offsets(PERFORMANCE_TOPIC.name)
    body = performance("pattigift", SOM, SOUTH_WEST, ALLIANCE)
    status, headers, answer = post("/v1/performance-events", body, keys["pattigift"])
    problem = problem_of(status, headers, answer)
    assert status == 403 and fields_named(problem) == {"area", "data.provider_id"}, problem
    assert {e["pointer"] for e in problem["errors"]} == {"#/area", "#/data/provider_id"}
    # The same in a batch, item by item.
    batched = performance("pattigift", SOM, SOUTH_WEST, ALLIANCE)
    status, _, answer = post("/v1/performance-events:batch", {"events": [batched]}, keys["pattigift"])
    (result,) = json.loads(answer)["results"]
    assert status == 200 and result["http_status"] == 403, result
    assert {e["field"] for e in result["errors"]} == {"area", "data.provider_id"}
    for refused in (body, batched):
        assert not in_ledger(refused["event_id"])
        assert refused["event_id"] not in event_ids(records_since(PERFORMANCE_TOPIC.name, since))


def test_each_field_is_refused_on_its_own(keys, alliance):
    """Another organisation's provider in its own area; itself as provider in an area it does
    not serve; a provider registered to nobody is not free for all either."""
    for area, region, provider, fields in (
        ("BSOL", "west_midlands", ALLIANCE, {"data.provider_id"}),
        (SOM, SOUTH_WEST, "pattigift", {"area"}),
        ("BSOL", "west_midlands", "birmingham-talking-therapies", {"data.provider_id"}),
    ):
        body = performance("pattigift", area, region, provider)
        status, headers, answer = post("/v1/performance-events", body, keys["pattigift"])
        assert status == 403 and fields_named(problem_of(status, headers, answer)) == fields, answer
        assert not in_ledger(body["event_id"])


def test_what_it_may_report_is_accepted(actors):
    status, _, answer = post(
        "/v1/performance-events", performance(PARTNER_ORG, AREA, REGION, PARTNER_ORG), actors["partner"]
    )
    assert status == 202, answer
    body = finding()
    status, _, answer = post("/v1/findings", body, actors["partner"])
    assert status == 202 and in_ledger(body["event_id"]), answer


def test_an_alliance_lead_reports_for_its_members_only_while_they_are_members(alliance):
    def lead_posts(provider: str) -> int:
        return post("/v1/performance-events", performance(ALLIANCE, SOM, SOUTH_WEST, provider), alliance)[0]

    assert lead_posts(ALLIANCE) == 202
    assert lead_posts("mind-in-somerset") == 403
    shown = json.loads(keys_cli("org", "add-member", ALLIANCE, "mind-in-somerset"))
    assert shown["members"] == ["mind-in-somerset"]
    assert {"mind-in-somerset", "mind-in-somerset-cafe"} <= set(shown["reports_for"])
    assert lead_posts("mind-in-somerset") == 202
    assert lead_posts("mind-in-somerset-cafe") == 202
    # A member does not report for its lead: membership runs one way.
    member = create_key("mind-in-somerset", "partner", name="Mind in Somerset")
    status, _, _ = post("/v1/performance-events", performance("mind-in-somerset", SOM, SOUTH_WEST, ALLIANCE), member)
    assert status == 403
    keys_cli("org", "remove-member", ALLIANCE, "mind-in-somerset")
    assert lead_posts("mind-in-somerset") == 403


def test_a_batch_answers_each_refusal_on_its_own(actors):
    ok, foreign = finding(), finding(area=OTHER_AREA, region=OTHER_REGION)
    since = end_offsets(FINDINGS.name)
    status, _, answer = raw(
        "intake",
        "POST",
        "/v1/findings:batch",
        json.dumps({"events": [ok, foreign]}).encode(),
        {**bearer(actors["partner"]), "content-type": "application/json"},
    )
    results = json.loads(answer)["results"]
    assert status == 200 and [r["http_status"] for r in results] == [202, 403], results
    assert [e["field"] for e in results[1]["errors"]] == ["area"]
    on_topic = event_ids(records_since(FINDINGS.name, since))
    assert ok["event_id"] in on_topic and foreign["event_id"] not in on_topic


def test_the_cli_changes_what_intake_allows(stack):
    org = f"registry-cli-{uuid.uuid4().hex[:8]}"
    key = create_key(org, "partner", areas="STAF", name="Registry test group")
    body = finding(source=org, area="SHEF", region="yorkshire_and_humber")
    assert post("/v1/findings", body, key)[0] == 403
    keys_cli("org", "set", org, "--areas", "STAF,SHEF")
    assert post("/v1/findings", body, key)[0] == 202
    assert registration(org)["areas"] == ["SHEF", "STAF"]
    service = performance(org, "STAF", "west_midlands", f"{org}-drop-in")
    assert post("/v1/performance-events", service, key)[0] == 403
    keys_cli("org", "add", org, "--provider-ids", f"{org}-drop-in")
    assert post("/v1/performance-events", service, key)[0] == 202
    keys_cli("org", "set", org, "--areas", "SHEF")
    again = performance(org, "STAF", "west_midlands", f"{org}-drop-in")
    assert post("/v1/performance-events", again, key)[0] == 403


def test_a_partner_key_made_without_areas_posts_nowhere(stack):
    org = f"registry-bare-{uuid.uuid4().hex[:8]}"
    key = create_key(org, "partner", name="Unregistered group")
    status, headers, answer = post("/v1/findings", finding(source=org), key)
    problem = problem_of(status, headers, answer)
    assert status == 403 and fields_named(problem) == {"area"} and "none" in problem["errors"][0]["reason"]


def test_only_operators_manage_the_registry(actors):
    for who in ("partner", "kent"):
        for method, path, body in (
            ("GET", "/v1/organisations", None),
            ("GET", f"/v1/organisations/{PARTNER_ORG}", None),
            ("PUT", f"/v1/organisations/{PARTNER_ORG}", {"areas": ["KENT", "HAMP"]}),
        ):
            status, headers, answer = raw(
                "intake",
                method,
                path,
                json.dumps(body).encode() if body else None,
                {**bearer(actors[who]), "content-type": "application/json"},
            )
            assert status == 403 and fields_named(problem_of(status, headers, answer)) == {"authorization"}
    assert registration(PARTNER_ORG)["areas"] == [AREA]
    assert http_json("GET", url("intake", "/v1/organisations"))[0] == 401


def test_the_operators_api_registers_validates_and_intake_honours_it(actors):
    op = bearer(actors["operator"])
    org = f"registry-api-{uuid.uuid4().hex[:8]}"
    key = create_key(org, "partner", name="Fenland peer support")
    body = finding(source=org, area="CAMP", region="east_of_england")
    assert post("/v1/findings", body, key)[0] == 403
    status, _, shown = http_json(
        "PUT",
        url("intake", f"/v1/organisations/{org}"),
        {
            "name": "Fenland peer support",
            "kind": "vcse_provider",
            "areas": ["CAMP"],
            "provider_ids": ["fenland-peer-support-cafe"],
        },
        op,
    )
    assert status == 200 and shown["areas"] == ["CAMP"] and "fenland-peer-support-cafe" in shown["reports_for"], shown
    assert post("/v1/findings", body, key)[0] == 202
    status, _, listing = http_json("GET", url("intake", "/v1/organisations"), headers=op)
    assert status == 200 and org in {o["id"] for o in listing["items"]}
    assert http_json("GET", url("intake", f"/v1/organisations/{org}"), headers=op)[2]["name"] == "Fenland peer support"
    for bad, field in (
        ({"areas": ["ZZZ"]}, "areas"),
        ({"provider_ids": ["Not A Slug"]}, "provider_ids"),
        ({"kind": "sole_trader"}, "kind"),
        ({"members": [f"nobody-{org}"]}, "members"),
        ({"members": [org]}, "members"),
        ({"colour": "red"}, "colour"),
    ):
        status, headers, answer = raw(
            "intake",
            "PUT",
            f"/v1/organisations/{org}",
            json.dumps(bad).encode(),
            {**op, "content-type": "application/json"},
        )
        problem = problem_of(status, headers, answer)
        assert status == 422 and any(f.startswith(field) for f in fields_named(problem)), (bad, problem)
    assert http_json("GET", url("intake", f"/v1/organisations/{org}"), headers=op)[2]["areas"] == ["CAMP"]
    status, headers, answer = raw("intake", "GET", "/v1/organisations/no-such-organisation", headers=op)
    assert status == 404 and problem_of(status, headers, answer)
    status, _, answer = raw("intake", "GET", "/v1/organisations/NOT_A_SLUG", headers=op)
    assert status == 422, answer
    paths = http_json("GET", url("intake", "/openapi.json"))[2]["paths"]
    assert {"get", "put"} <= set(paths["/v1/organisations/{organisation_id}"]) and "get" in paths["/v1/organisations"]


def test_the_cli_refuses_what_the_registry_cannot_take(stack):
    for args in (
        ("org", "set", PARTNER_ORG, "--areas", "ZZZ"),
        ("org", "add-member", PARTNER_ORG, "nobody-at-all"),
        ("org", "set", PARTNER_ORG, "--provider-ids", "Bad Slug"),
        ("org", "add-member", PARTNER_ORG, PARTNER_ORG),
    ):
        with pytest.raises(subprocess.CalledProcessError) as refused:
            keys_cli(*args)
        assert refused.value.stderr, args
    assert registration(PARTNER_ORG)["areas"] == [AREA] and registration(PARTNER_ORG)["members"] == []
