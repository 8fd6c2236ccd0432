"""A commissioner's webhook cannot make the platform call inside its network (security issue,
item 6): every internal target of the issue's list is refused at creation with 422 on
``target``; only the stack's named loopback receivers are an exception, and a loopback port not
named is refused like any other internal address. (Delivery-time checks and DNS rebinding:
tests/unit/alerts/test_webhook_sender.py.)"""

from __future__ import annotations

import pytest

from tests.conftest import TEST_ENV, bearer, http_json, url
from tests.hostile.conftest import AREA, fields_named
from tests.integration.alerts_support import WebhookReceiver

pytestmark = pytest.mark.integration

REFUSED = [
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    f"http://127.0.0.1:{TEST_ENV['CSP_PG_PORT']}/",
    "http://[::1]/",
    "http://0x7f000001/",
    "http://2130706433/",
    "http://127.0.0.1/a\r\nX-Evil: 1",
    "http://100.64.0.1/",
    "http://100.100.100.200/",
    "http://[2002:a9fe:a9fe::1]/",
    "http://localhost/",
    "http://[::ffff:169.254.169.254]/",
    "http://user:pw@127.0.0.1/",
    "gopher://127.0.0.1:6379/_",
]


def subscribe(key: dict, target: str) -> tuple[int, dict]:
    status, _, body = http_json(
        "POST",
        url("alerts-api", "/v1/subscriptions"),
        {"areas": [AREA], "channel": "webhook", "target": target},
        bearer(key),
    )
    return status, body


@pytest.mark.parametrize("target", REFUSED)
def test_internal_targets_are_refused_at_creation(actors, target):
    status, problem = subscribe(actors["kent"], target)
    assert status == 422 and fields_named(problem) == {"target"}, problem
    # The reason names the rule, never what is or is not listening there.
    assert "connect" not in str(problem).lower() and "refused" not in str(problem).lower()


def test_a_named_receiver_of_the_stack_is_the_one_exception(actors):
    receiver = WebhookReceiver()
    try:
        status, body = subscribe(actors["kent"], receiver.url)
        assert status == 201, body
        http_json("DELETE", url("alerts-api", f"/v1/subscriptions/{body['id']}"), headers=bearer(actors["kent"]))
    finally:
        receiver.close()
