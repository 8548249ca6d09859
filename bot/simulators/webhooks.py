"""One HTTP request from a simulated service to our app, and the record of how it went."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import aiohttp


@dataclass
class Delivery:
    """A request the service sent to our app: what was sent, and what came back (if anything)."""

    url: str  # the URL as the service addressed it (what a signature covers)
    target: str  # where it was actually sent (our app's loopback address)
    body: bytes
    headers: dict[str, str]
    status: int | None = None  # None: no answer (timed out, or nobody listening)
    text: str = ""
    response_headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # "timeout" | "connection" | "unroutable" when status is None
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        """2xx: both Slack and Twilio count only that as delivered."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def failed(self) -> bool:
        return not self.ok


async def send(
    session: aiohttp.ClientSession,
    *,
    url: str,
    target: str | None,
    body: bytes,
    headers: dict[str, str],
    seconds: float,
    method: str = "POST",
) -> Delivery:
    """Send `body` to `target` and wait at most `seconds` for the whole answer."""
    delivery = Delivery(url=url, target=target or "", body=body, headers=dict(headers))
    if target is None:
        delivery.error = "unroutable"  # a host the simulator cannot reach (not our app)
        return delivery
    started = time.monotonic()
    try:
        async with asyncio.timeout(seconds):
            async with session.request(
                method, target, data=body or None, headers=headers, allow_redirects=False
            ) as response:
                delivery.text = await response.text(errors="replace")
                delivery.status = response.status
                delivery.response_headers = dict(response.headers)
    except TimeoutError:
        delivery.error = "timeout"
    except aiohttp.ClientError:
        delivery.error = "connection"
    delivery.elapsed = time.monotonic() - started
    return delivery
