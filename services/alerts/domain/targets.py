"""Where a commissioner's webhook may point: the public internet only. Pure.

A webhook target is a URL a commissioner types; the platform then POSTs to it from inside its
own network, so without a policy it is a door to everything the platform can reach (cloud
metadata at 169.254.169.254, PostgreSQL on 127.0.0.1:5432, a private 10.x network) and the
delivery log a port scanner's read-out. The policy:

* the URL is parsed strictly: http or https, no user name or password, no white space or
  control character anywhere (a CR or LF could split the request), a host that is a DNS name or
  an IP address written canonically (``0x7f000001``, ``2130706433``, ``0177.0.0.1`` and
  ``127.1`` are the loopback address in disguise and are refused as such);
* every address the host resolves to must be globally routable (``ipaddress``'s ``is_global``),
  and so must any IPv4 address carried inside an IPv6 one (IPv4-mapped, 6to4 ``2002::/16``,
  Teredo, NAT64 ``64:ff9b::/96``);
* the check is made when the subscription is created and again when each delivery connects,
  to the very address then checked (a name that resolved to a public address at creation and
  to an internal one later, DNS rebinding, is refused at delivery);
* the only exception is an explicit list of receivers (``host:port`` on loopback) that the
  operator names, for the local stack and its tests; there is no blanket switch.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
_DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_DOTTED_QUAD = re.compile(r"^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$")
#: A host made only of digits, dots and hex notation is an address, however it is written.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]*))*$")


@dataclass(frozen=True)
class WebhookTarget:
    """A parsed webhook URL: what to connect to, and what to ask for there."""

    scheme: str
    host: str  # lower-case DNS name, or the address as written canonically
    port: int
    path: str  # path and query, at least "/"
    address: IPAddress | None  # set when the host is an IP address

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        shown = f"[{self.host}]" if isinstance(self.address, ipaddress.IPv6Address) else self.host
        return shown if self.port == default else f"{shown}:{self.port}"


class TargetRefused(ValueError):
    """Why a webhook target is not one the platform calls; safe to show the commissioner."""


def parse(target: str) -> WebhookTarget:
    """The target as a :class:`WebhookTarget`, or :class:`TargetRefused` saying why not."""
    if _CONTROL_OR_SPACE.search(target):
        raise TargetRefused("must not contain white space or control characters")
    try:
        parts = urlsplit(target)
        port = parts.port
    except ValueError:
        raise TargetRefused("is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("must be an http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("must not carry a user name or password")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise TargetRefused("has no host")
    address = _address(host)
    if address is None and not all(_DNS_LABEL.match(label) for label in host.split(".")):
        raise TargetRefused("the host is not a valid DNS name")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return WebhookTarget(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path, address)


def _address(host: str) -> IPAddress | None:
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise TargetRefused("the host is not a valid IPv6 address") from None
    if _NUMERIC_HOST.match(host):
        if not _DOTTED_QUAD.match(host):
            raise TargetRefused("an IP address must be written as four decimal numbers (a.b.c.d)")
        return ipaddress.IPv4Address(host)
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def publicly_routable(address: IPAddress) -> bool:
    """Globally routable and not multicast, and so is any IPv4 address it carries."""
    if not address.is_global or address.is_multicast:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        return all(v4.is_global and not v4.is_multicast for v4 in _embedded_ipv4(address))
    return True


def receivers(setting: str) -> frozenset[tuple[IPAddress, int]]:
    """The operator's named loopback receivers, from ``host:port,host:port`` (IPv6 in brackets)."""
    out = set()
    for entry in (e.strip() for e in setting.split(",")):
        if not entry:
            continue
        host, _, port = entry.rpartition(":")
        address = ipaddress.ip_address(host.strip("[]"))
        if not address.is_loopback:
            raise ValueError(f"a named webhook receiver must be on loopback: {entry}")
        out.add((address, int(port)))
    return frozenset(out)


def allowed(address: IPAddress, port: int, named: frozenset[tuple[IPAddress, int]]) -> bool:
    """Whether a delivery may connect to ``address``:``port``."""
    return publicly_routable(address) or (address, port) in named


REFUSED = (
    "points at an address the platform does not call (loopback, private, link-local, "
    "shared or reserved); webhooks must reach the public internet"
)
