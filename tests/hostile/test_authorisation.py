"""Who may do what, tried by the wrong people: another organisation's ``source``, another area's
alerts, reports and dashboard pages, revoked and malformed keys, forged webhook signatures.

Everything runs against the real services; a refusal must be a 4xx problem (an HTML page for
the dashboard) and must not carry any of the other party's data.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from contracts.topics import FINDINGS
from services.alerts.domain.delivery import sign, verify
from tests.conftest import REPO, TEST_ENV, bearer, create_key, http_json, url, wait_until
from tests.hostile.conftest import (
    AREA,
    OTHER_AREA,
    OTHER_ORG,
    OTHER_REGION,
    PARTNER_ORG,
    REGION,
    end_offsets,
    event_ids,
    finding,
    problem_of,
    raw,
    records_since,
    sign_in,
    unmet_need_alert,
)
from tests.integration.alerts_support import WebhookReceiver

pytestmark = pytest.mark.integration


def call(
    service: str, method: str, path: str, key: dict | None = None, body=None, headers: dict[str, str] | None = None
):
    hdrs = {**(bearer(key) if key else {}), **(headers or {})}
    data = json.dumps(body).encode() if body is not None else None
    if data is not None:
        hdrs.setdefault("content-type", "application/json")
    return raw(service, method, path, data, hdrs)


def revoke(key: dict) -> None:
    subprocess.run(
        [sys.executable, "-m", "services.common.keys", "revoke", key["key_id"]],
        env={**os.environ, **TEST_ENV},
        cwd=REPO,
        check=True,
        capture_output=True,
    )


# --- a partner posting as another organisation -----------------------------------------------


def test_a_partner_cannot_post_as_another_organisation(actors):
    partner = actors["partner"]
    since = end_offsets(FINDINGS.name)
    theirs = finding(source=OTHER_ORG, area=OTHER_AREA, region=OTHER_REGION)
    problem = problem_of(*call("intake", "POST", "/v1/findings", partner, theirs))
    assert problem["status"] == 403 and [e["field"] for e in problem["errors"]] == ["source"]

    # In a batch: each foreign item refused on its own, the own one accepted.
    mine, foreign = finding(), finding(source=OTHER_ORG, area=OTHER_AREA, region=OTHER_REGION)
    status, _, answer = http_json(
        "POST", url("intake", "/v1/findings:batch"), {"events": [mine, foreign]}, bearer(partner)
    )
    assert status == 200 and [r["http_status"] for r in answer["results"]] == [202, 403]

    # Spellings that are not the organisation's id are not let through as it either.
    for source in (
        PARTNER_ORG.upper(),
        PARTNER_ORG + " ",
        " " + PARTNER_ORG,
        PARTNER_ORG + "\u200b",
        PARTNER_ORG.replace("-", "_"),
    ):
        status, _, body = call("intake", "POST", "/v1/findings", partner, finding(source=source))
        assert status in (403, 422), (source, status, body)

    # A commissioner key posts nothing, whatever the source says.
    assert problem_of(*call("intake", "POST", "/v1/findings", actors["kent"], finding()))["status"] == 403

    # The other organisation reusing an event_id it saw is a conflict, not the original's place.
    conflict = problem_of(
        *call(
            "intake",
            "POST",
            "/v1/findings",
            actors["other_partner"],
            {**mine, "source": OTHER_ORG, "area": OTHER_AREA, "region": OTHER_REGION},
        )
    )
    assert conflict["status"] == 409 and "offset" not in conflict and "partition" not in conflict

    published = event_ids(records_since(FINDINGS.name, since))
    assert mine["event_id"] in published
    assert not {theirs["event_id"], foreign["event_id"]} & published


# --- a commissioner reading another area ------------------------------------------------------


def test_a_commissioner_sees_nothing_of_another_areas_alerts(actors):
    kent, hamp = actors["kent"], actors["hamp"]
    fp = unmet_need_alert(actors["partner"], kent, "east_european")
    status, _, body = call("alerts-api", "GET", f"/v1/alerts/{fp}", kent)
    assert status == 200 and json.loads(body)["area"] == AREA
    secret_bits = (fp, "Kent", AREA)

    def refused(status: int, headers: dict, body: bytes, expected: int) -> None:
        assert problem_of(status, headers, body)["status"] == expected
        if expected == 404:  # answered as if it did not exist: nothing of it in the answer
            assert not any(bit.encode() in body for bit in secret_bits[1:]), body

    refused(*call("alerts-api", "GET", f"/v1/alerts/{fp}", hamp), 404)
    refused(*call("alerts-api", "POST", f"/v1/alerts/{fp}/acknowledge", hamp, {"note": "not mine"}), 404)
    refused(*call("alerts-api", "POST", f"/v1/alerts/{fp}/resolve", hamp, {"note": "not mine"}), 404)
    refused(*call("alerts-api", "GET", f"/v1/alerts?area={AREA}", hamp), 403)
    refused(*call("alerts-api", "GET", f"/v1/alerts/stream?area={AREA}", hamp), 403)
    refused(*call("alerts-api", "GET", f"/v1/areas/{AREA}/thresholds", hamp), 403)
    refused(
        *call("alerts-api", "PUT", f"/v1/areas/{AREA}/thresholds", hamp, {"unmet_need": {"amber_score": 1000}}), 403
    )
    refused(
        *call(
            "alerts-api",
            "POST",
            "/v1/subscriptions",
            hamp,
            {"areas": [AREA], "channel": "email", "target": "icb@example.org"},
        ),
        403,
    )
    end = "2099-01-01T00:00:00Z"
    refused(*call("alerts-api", "POST", "/v1/silences", hamp, {"reason": "quiet", "ends_at": end, "area": AREA}), 403)
    refused(
        *call(
            "alerts-api",
            "POST",
            "/v1/silences",
            hamp,
            {"reason": "quiet", "ends_at": end, "area": OTHER_AREA, "fingerprint": fp},
        ),
        404,
    )

    # Listing without an area shows only its own; the alert is still firing, untouched.
    status, _, body = call("alerts-api", "GET", "/v1/alerts?limit=200", hamp)
    listing = json.loads(body)
    assert status == 200 and all(i["area"] == OTHER_AREA for i in listing["items"])
    status, _, body = call("alerts-api", "GET", f"/v1/alerts/{fp}", kent)
    shown = json.loads(body)
    assert shown["status"] == "firing" and shown["acknowledged_by"] is None
    assert [a["action"] for a in shown["audit"]] == ["fired"]

    # Partners read no alerts at all; no key is a 401.
    refused(*call("alerts-api", "GET", "/v1/alerts", actors["partner"]), 403)
    refused(*call("alerts-api", "GET", "/v1/alerts"), 401)


def test_a_commissioner_reads_no_other_areas_reports_or_pages(actors):
    kent, hamp = actors["kent"], actors["hamp"]
    marker = "Carers at the Sheerness forum described a six-month wait for a carers assessment."
    event = finding(summary=marker)
    assert call("intake", "POST", "/v1/findings", actors["partner"], event)[0] == 202
    wait_until(
        lambda: (
            event["event_id"].encode()
            in call("reporting", "GET", f"/v1/reports/findings?area={AREA}&days=7&limit=1000", kent)[2]
        ),
        90,
        what="the marker finding in the Kent drill-down",
    )

    for path in (
        f"/v1/reports/summary?area={AREA}",
        f"/v1/reports/overview?area={AREA}",
        f"/v1/reports/findings?area={AREA}",
        f"/v1/reports/findings.csv?area={AREA}",
        f"/v1/reports/unmet-needs?area={AREA}&format=csv",
        f"/v1/reports/heatmap?area={AREA}",
        f"/v1/reports/alerts?area={AREA}",
        f"/v1/reports/performance?area={AREA}",
        f"/v1/reports/funding?area={AREA}",
        f"/v1/reports/completeness?area={AREA}",
        f"/v1/reports/overview?region={REGION}",
        f"/v1/reports/findings?region={REGION}",
    ):
        status, headers, body = call("reporting", "GET", path, hamp)
        assert problem_of(status, headers, body)["status"] == 403, path
        assert marker.encode() not in body and event["event_id"].encode() not in body

    # Without an area: its own only, and the Kent finding is nowhere in the drill-down.
    status, _, body = call("reporting", "GET", "/v1/reports/findings?days=7&limit=1000", hamp)
    listing = json.loads(body)
    assert status == 200 and listing["areas"] == [OTHER_AREA]
    assert all(i["area"] == OTHER_AREA for i in listing["items"])
    assert event["event_id"].encode() not in body

    # The dashboard, with a Bearer key and with a signed-in session: a 403 page, nothing of Kent.
    session = sign_in(hamp)
    for headers in (bearer(hamp), {"cookie": session}):
        for page in (
            "/dashboard",
            "/dashboard/findings",
            "/dashboard/heatmap",
            "/dashboard/alerts",
            "/dashboard/unmet-needs",
            "/dashboard/performance",
            "/dashboard/funding",
        ):
            status, got, body = raw("reporting", "GET", f"{page}?area={AREA}&days=7", headers=headers)
            assert status == 403 and got["content-type"].startswith("text/html"), (page, status)
            assert marker.encode() not in body and b"Kent and Medway" not in body
        status, _, body = raw("reporting", "GET", "/dashboard/findings?days=7", headers=headers)
        assert status == 200 and marker.encode() not in body

    # Partners read no reports and no pages.
    partner = actors["partner"]
    assert problem_of(*call("reporting", "GET", f"/v1/reports/summary?area={AREA}", partner))["status"] == 403
    assert raw("reporting", "GET", "/dashboard", headers=bearer(partner))[0] == 403


# --- revoked and malformed keys -----------------------------------------------------------------

MALFORMED = [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Basic dXNlcjpwYXNzd29yZA==",
    "Token csp_a_b",
    "Bearer csp_",
    "Bearer csp__",
    "Bearer csp_x_",
    "Bearer xyz_abc_def",
    "Bearer csp_nothing_here",
    "Bearer " + "a" * 8000,
    "Bearer csp_" + "f" * 12 + "_" + "A" * 43,
    "Bearer csp_abc_def extra",
    "Bearer csp_' OR '1'='1_x",
    "Bearer csp_%00_x",
]
PROBES = [
    ("intake", "POST", "/v1/findings"),
    ("alerts-api", "GET", "/v1/alerts"),
    ("reporting", "GET", "/v1/reports/summary"),
]


@pytest.mark.parametrize("service, method, path", PROBES)
def test_malformed_keys_are_401_problems(actors, service, method, path):
    body = json.dumps(finding()).encode() if method == "POST" else None
    mine = actors["partner"] if service == "intake" else actors["kent"]
    key_id = mine["key_id"]
    forged = [
        f"Bearer csp_{key_id}_" + "A" * 43,  # right id, wrong secret
        f"Bearer csp_{key_id}_{actors['operator']['api_key'].split('_', 2)[2]}",
    ]  # another's secret
    for value in MALFORMED + forged:
        headers = {"content-type": "application/json"}
        if value is not None:
            headers["authorization"] = value
        status, got, answer = raw(service, method, path, body, headers)
        problem = problem_of(status, got, answer)
        assert problem["status"] == 401, (value, problem)
        assert "bearer" in got.get("www-authenticate", "").lower()
        assert mine["api_key"].split("_", 2)[2].encode() not in answer
    # Bytes that are not ASCII in the header are no key either.
    status, got, answer = raw(
        service,
        method,
        path,
        body,
        {"content-type": "application/json", "authorization": "Bearer csp_é_é".encode("latin-1")},
    )
    assert problem_of(status, got, answer)["status"] == 401


def test_a_revoked_key_stops_working_everywhere(actors):
    partner = create_key(PARTNER_ORG, "partner", areas=AREA, name="Medway Community Voice")
    reader = create_key("kent-medway-icb", "commissioner", areas=AREA, name="Kent and Medway ICB")
    assert call("intake", "POST", "/v1/findings", partner, finding())[0] == 202
    assert call("alerts-api", "GET", "/v1/alerts", reader)[0] == 200
    assert call("reporting", "GET", f"/v1/reports/summary?area={AREA}", reader)[0] == 200
    session = sign_in(reader)
    assert raw("reporting", "GET", "/dashboard", headers={"cookie": session})[0] == 200
    revoke(partner)
    revoke(reader)
    assert problem_of(*call("intake", "POST", "/v1/findings", partner, finding()))["status"] == 401
    assert problem_of(*call("alerts-api", "GET", "/v1/alerts", reader))["status"] == 401
    # The session cookie is checked against the key on every request: no more pages.
    status, headers, _ = raw("reporting", "GET", "/dashboard", headers={"cookie": session})
    assert status == 303 and headers["location"].startswith("/login")
    assert problem_of(*raw("reporting", "GET", "/v1/reports/summary", headers={"cookie": session}))["status"] == 401
    # The reporting API caches a key lookup for up to 5 seconds (services/reporting/app.py).
    wait_until(
        lambda: call("reporting", "GET", f"/v1/reports/summary?area={AREA}", reader)[0] == 401,
        8,
        0.5,
        what="the reporting API to refuse the revoked key",
    )
    problem_of(*call("reporting", "GET", f"/v1/reports/summary?area={AREA}", reader))
    # Signing in again with it is refused.
    sign_in(reader, expect=401)


# --- webhooks ------------------------------------------------------------------------------------


def _routes(service: str) -> set[tuple[str, str]]:
    status, _, doc = http_json("GET", url(service, "/openapi.json"))
    assert status == 200
    return {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}


def test_nothing_accepts_callbacks_so_no_signature_is_ever_trusted(actors):
    """The platform only sends webhooks. No route takes one in: an Alertmanager-shaped payload
    with a valid-looking signature and no key is refused wherever it is posted."""
    for service in ("intake", "alerts-api", "reporting"):
        routes = _routes(service)
        assert not [r for r in routes if any(w in r[1].lower() for w in ("callback", "webhook", "hook"))]
        body = json.dumps({"version": "4", "status": "resolved", "alerts": []}).encode()
        ts = str(int(time.time()))
        for method, path in sorted(routes) + [
            ("POST", "/v1/webhooks"),
            ("POST", "/v1/callbacks"),
            ("POST", "/hooks/alerts"),
        ]:
            if method not in ("POST", "PUT", "DELETE"):
                continue
            path = (
                path.replace("{fingerprint}", "0" * 32)
                .replace("{area}", AREA)
                .replace("{silence_id}", str(uuid.uuid4()))
                .replace("{sub_id}", str(uuid.uuid4()))
            )
            status, _, answer = raw(
                service,
                method,
                path,
                body,
                {
                    "content-type": "application/json",
                    "x-csp-timestamp": ts,
                    "x-csp-signature": sign("any-secret-at-all", ts, body),
                },
            )
            assert status in (401, 404, 405), (service, method, path, status, answer[:200])


def test_the_webhooks_the_platform_sends_verify_only_with_the_shared_secret(actors):
    area, region = "CAMP", "east_of_england"
    reader = create_key("cambridgeshire-icb", "commissioner", areas=area, name="Cambridgeshire ICB")
    partner = create_key("fenland-peer-support", "partner", areas=area, name="Fenland peer support")
    receiver = WebhookReceiver()
    try:
        status, _, body = call(
            "alerts-api",
            "POST",
            "/v1/subscriptions",
            reader,
            {"areas": [area], "channel": "webhook", "target": receiver.url},
        )
        sub = json.loads(body)
        assert status == 201 and len(sub["secret"]) >= 32
        fp = unmet_need_alert(partner, reader, "dual_heritage", area, region)
        (delivery,) = wait_until(lambda: receiver.about(fp), 60, what="the signed webhook")
    finally:
        receiver.close()
    secret, ts, got = sub["secret"], delivery.headers["x-csp-timestamp"], delivery.headers["x-csp-signature"]
    # Computed here from the documented recipe, not only with the platform's own function.
    expected = "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + delivery.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got, expected)
    now = time.time()
    assert abs(now - float(ts)) < 120
    assert verify(secret, ts, delivery.body, got, now=now)
    assert not verify("a-different-secret-of-the-same-length-xx", ts, delivery.body, got, now=now)
    assert not verify(secret, ts, delivery.body + b" ", got, now=now)  # body changed
    assert not verify(secret, str(int(float(ts)) + 1), delivery.body, got, now=now)  # timestamp changed
    assert not verify(secret, ts, delivery.body, got.removeprefix("sha256="), now=now)
    assert not verify(secret, ts, delivery.body, "", now=now)
    assert not verify(secret, ts, delivery.body, got, now=now + 3600)  # replayed an hour later
    # The secret is shown once, at creation: never again, and never in the payload.
    status, _, body = call("alerts-api", "GET", f"/v1/subscriptions/{sub['id']}", reader)
    assert status == 200 and secret.encode() not in body and "secret" not in json.loads(body)
    assert secret.encode() not in delivery.body
    call("alerts-api", "DELETE", f"/v1/subscriptions/{sub['id']}", reader)
