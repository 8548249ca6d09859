"""Who is asking: the client's address as the socket saw it, or as a proxy we trust reported it.

X-Forwarded-For is whatever the sender wrote, so it counts only when the request came from a
proxy listed in TRUSTED_PROXIES; then the client is the right-most address in it that is not
one of those proxies (each proxy appends the address it saw, so everything to the left of the
first untrusted hop could be forged).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class InvalidProxy(ValueError):
    pass


@lru_cache(maxsize=64)
def networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """'10.0.0.0/8', '192.0.2.7', '::1' -> networks; InvalidProxy names a bad entry."""
    found = []
    for entry in entries:
        try:
            found.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise InvalidProxy(f"{entry.strip()!r} is not an IP address or network") from None
    return tuple(found)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    parsed = _address(address)
    return parsed is not None and any(parsed in network for network in proxies)


def client_address(peer: str, forwarded_for: str, trusted_proxies: Sequence[str]) -> str:
    """The client's address: `peer` (the socket's), unless `peer` is a trusted proxy."""
    proxies = networks(tuple(trusted_proxies))
    if not proxies or not _trusted(peer, proxies):
        return peer
    client = peer
    for hop in reversed([part.strip() for part in forwarded_for.split(",") if part.strip()]):
        if _address(hop) is None:
            break  # not an address: what the proxy right of it saw is all we know
        client = hop
        if not _trusted(hop, proxies):
            break
    return client
