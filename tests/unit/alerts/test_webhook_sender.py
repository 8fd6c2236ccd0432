"""The webhook sender checks the address at delivery and connects to the address it checked."""

from __future__ import annotations

import asyncio
import ipaddress

import httpx

from services.alerts.adapters.senders import WebhookSender


def sender(resolved: list[str], seen: list[httpx.Request], receivers=frozenset()) -> WebhookSender:
    async def resolve(host, port):
        return [ipaddress.ip_address(a) for a in resolved]

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    return WebhookSender(client, clock=lambda: 1_700_000_000, receivers=receivers, resolve=resolve)


def test_a_name_that_now_resolves_inside_is_never_called():
    """DNS rebinding: public when the subscription was made, internal at delivery."""
    seen: list[httpx.Request] = []
    sent = asyncio.run(sender(["10.0.0.7"], seen).send("https://hooks.example.org/a", "s" * 32, b"{}", "n-1"))
    assert not sent.ok and sent.permanent and sent.status_code is None
    assert sent.error == "target not allowed or not resolvable"  # nothing about what is behind it
    assert seen == []


def test_a_public_name_is_called_at_the_address_checked_with_its_own_host_and_tls_name():
    seen: list[httpx.Request] = []
    sent = asyncio.run(sender(["93.184.215.14"], seen).send("https://hooks.example.org/a?x=1", "s" * 32, b"{}", "n-2"))
    assert sent.ok
    (request,) = seen
    assert str(request.url) == "https://93.184.215.14/a?x=1"  # httpx drops the default port
    assert request.headers["host"] == "hooks.example.org"
    assert request.extensions["sni_hostname"] == "hooks.example.org"


def test_a_named_loopback_receiver_is_the_one_exception():
    seen: list[httpx.Request] = []
    named = frozenset({(ipaddress.ip_address("127.0.0.1"), 28120)})
    ok = asyncio.run(sender([], seen, named).send("http://127.0.0.1:28120/h", "s" * 32, b"{}", "n-3"))
    refused = asyncio.run(sender([], seen, named).send("http://127.0.0.1:5432/h", "s" * 32, b"{}", "n-4"))
    assert ok.ok and not refused.ok and len(seen) == 1
