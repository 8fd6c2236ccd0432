"""With Kafka down, intake never answers 2xx; once it is back, the same event is accepted.

Runs after the other intake tests (file order) because it stops the session's broker.
"""

from __future__ import annotations

import time

import pytest

from contracts.topics import FINDINGS
from tests.conftest import bearer, http_json, run, url, wait_until
from tests.integration.kafka_probe import with_header
from tests.integration.test_intake import finding

pytestmark = pytest.mark.integration


def test_kafka_down_means_503_then_the_retry_is_accepted(keys):
    body = finding()
    run("kafka.sh", "stop")
    try:
        t0 = time.monotonic()
        status, headers, problem = http_json(
            "POST", url("intake", "/v1/findings"), body, bearer(keys["pattigift"]), timeout=60
        )
        assert status == 503, problem
        assert int(headers["retry-after"]) >= 1
        assert time.monotonic() - t0 < 30
        status, _, _ = http_json("GET", url("intake", "/readyz"))
        assert status == 503
    finally:
        run("kafka.sh", "start")
    wait_until(lambda: http_json("GET", url("intake", "/readyz"))[0] == 200, 60, what="intake ready")
    status, _, answer = wait_until(
        lambda: (
            (r := http_json("POST", url("intake", "/v1/findings"), body, bearer(keys["pattigift"]), timeout=60))[0]
            in (200, 202)
            and r
        ),
        60,
        what="accepted after restart",
    )
    copies = len(with_header(FINDINGS.name, "ce_id", body["event_id"]))
    if answer["status"] == "duplicate":
        # The record answered 503 reached the broker once it was back (a late acknowledgement,
        # recorded in the ledger), so the retry is the original acceptance, not a second copy.
        assert copies == 1
    else:
        # The retry overtook the buffered record: the log may hold two copies of one event_id,
        # which every consumer deduplicates (see tests/e2e). Never zero.
        assert answer["status"] == "accepted" and copies in (1, 2)
    again = http_json("POST", url("intake", "/v1/findings"), body, bearer(keys["pattigift"]))
    assert again[0] == 200 and again[2]["status"] == "duplicate"
