"""PUBLIC_URL: the https base Slack and Twilio reach us at, and whether it answers from here.

Twilio signs each webhook over the URL it requested, and we check it against PUBLIC_URL + path:
the base must be exactly what the numbers are configured with. Our routes sit at the root
(/twilio/..., /slack/events), so the base has no path of its own.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import aiohttp

from bot.doctor.report import Finding, fail, ok, warn

HEALTH_TIMEOUT = 5.0  # seconds
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def shape_findings(public_url: str) -> list[Finding]:
    """https (or http on a loopback address, to try things locally), and nothing but a base."""
    parts = urlsplit(public_url)
    host = parts.hostname or ""
    found: list[Finding] = []
    if parts.scheme == "https":
        found.append(ok("scheme", "https"))
    elif is_loopback(host):
        found.append(ok("scheme", f"http on {host}, a loopback address: for trying it locally"))
    else:
        found.append(
            warn(
                "scheme",
                "http: Slack requires https for its request URLs, and texts' contents would "
                "cross the internet in the clear",
                "serve it behind https (a reverse proxy with a certificate) and set PUBLIC_URL "
                "to the https address",
            )
        )
    extra = [
        what
        for what, present in (
            (f"path {parts.path}", parts.path not in ("", "/")),
            ("query", bool(parts.query)),
            ("fragment", bool(parts.fragment)),
        )
        if present
    ]
    if extra:
        base = f"{parts.scheme}://{parts.netloc}"
        found.append(
            fail(
                "base",
                f"it has a {', '.join(extra)}: the app answers at the root "
                "(/twilio/voice, /slack/events)",
                f"set PUBLIC_URL={base}",
            )
        )
    else:
        found.append(ok("base", "scheme and host only"))
    return found


def health_finding(url: str, status: int | None, error: str | None) -> Finding:
    if status == 200:
        return ok("/healthz", f"GET {url} answered 200 from this machine")
    fix = (
        "start `python -m bot serve` (expected when it isn't running yet) and make sure "
        "PUBLIC_URL reaches it: Twilio and Slack won't reach it either"
    )
    if status == 503:
        return warn("/healthz", f"GET {url} answered 503: the server can't reach its Redis", fix)
    if status is not None:
        return warn("/healthz", f"GET {url} answered {status}, not textback's 200", fix)
    return warn("/healthz", f"GET {url}: {error}", fix)


async def check(public_url: str, found: list[Finding]) -> None:
    found.extend(shape_findings(public_url))
    url = f"{public_url.rstrip('/')}/healthz"
    timeout = aiohttp.ClientTimeout(total=HEALTH_TIMEOUT)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.get(url, allow_redirects=False) as response:
                found.append(health_finding(url, response.status, None))
    except TimeoutError:
        found.append(health_finding(url, None, f"no answer within {HEALTH_TIMEOUT:g} s"))
    except (aiohttp.ClientError, OSError) as exc:
        found.append(health_finding(url, None, f"no answer ({type(exc).__name__}: {exc})"))
