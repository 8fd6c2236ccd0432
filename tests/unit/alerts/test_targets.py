"""Where a commissioner's webhook may point (services.alerts.domain.targets): the issue's list of
internal targets, each refused, at creation (parse + resolve) and at delivery (allowed)."""

from __future__ import annotations

import ipaddress

import pytest

from services.alerts.domain.targets import TargetRefused, allowed, parse, publicly_routable, receivers

NONE = frozenset()


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://127.0.0.1:5432/",
        "http://[::1]/",
        "http://100.64.0.1/",
        "http://100.100.100.200/",
        "http://[2002:a9fe:a9fe::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://192.168.1.1/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    ],
)
def test_internal_addresses_are_not_called(target):
    parsed = parse(target)
    assert parsed.address is not None and not allowed(parsed.address, parsed.port, NONE)


@pytest.mark.parametrize(
    "target",
    [
        "http://0x7f000001/",
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://0x7f.0.0.1/",
        "http://017700000001/",
    ],
)
def test_loopback_in_disguise_is_refused_as_written(target):
    with pytest.raises(TargetRefused, match="four decimal numbers"):
        parse(target)


@pytest.mark.parametrize(
    "target,reason",
    [
        ("http://hooks.example/a\r\nX-Injected: 1", "white space or control"),
        ("http://hooks.example/a b", "white space or control"),
        ("ftp://hooks.example/", "http:// or https://"),
        ("http://user:pw@hooks.example/", "user name or password"),
        ("http://hooks.example:99999/", "not a valid URL"),
        ("http:///nohost", "no host"),
        ("http://bad_host.example/", "DNS name"),
    ],
)
def test_malformed_targets_are_refused_with_the_reason(target, reason):
    with pytest.raises(TargetRefused, match=reason):
        parse(target)


def test_a_public_target_is_called_at_the_address_checked():
    parsed = parse("https://Hooks.Example.org/alerts?team=mh")
    assert (parsed.host, parsed.port, parsed.path, parsed.address) == (
        "hooks.example.org",
        443,
        "/alerts?team=mh",
        None,
    )
    assert publicly_routable(ipaddress.ip_address("8.8.8.8"))
    assert publicly_routable(ipaddress.ip_address("2606:4700:4700::1111"))
    assert parse("http://8.8.8.8:8080/x").host_header == "8.8.8.8:8080"


def test_only_named_loopback_receivers_are_an_exception():
    named = receivers("127.0.0.1:28100, [::1]:28101")
    loopback = ipaddress.ip_address("127.0.0.1")
    assert allowed(loopback, 28100, named) and not allowed(loopback, 28102, named)
    assert not allowed(loopback, 5432, named)
    with pytest.raises(ValueError, match="loopback"):
        receivers("10.0.0.1:80")
