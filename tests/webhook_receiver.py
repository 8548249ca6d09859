"""A loopback webhook receiver (a CRM, a Zap) that checks every signature with its own code.

Its verification is written from the Standard Webhooks specification, not imported from the
app: a signature the app gets wrong fails here even if the app's own check agrees with itself.
Tests script its answers (a 500, a 410, a 429 with Retry-After, a hang) and read what arrived.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.simulators._server import LoopbackServer

TOLERANCE = 300  # seconds of clock skew a receiver allows (the specification's suggestion)


def verify(secret: str, headers: dict[str, str], body: bytes, now: float) -> bool:
    """The receiver's side of Standard Webhooks v1, from the specification."""
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"))
        msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
        if abs(now - int(stamp)) > TOLERANCE:
            return False
        signed = msg_id.encode() + b"." + stamp.encode() + b"." + body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    except (KeyError, ValueError):
        return False
    return any(
        version == "v1" and hmac.compare_digest(given.encode(), expected)
        for version, _, given in (s.partition(",") for s in headers["webhook-signature"].split())
    )


@dataclass
class Received:
    msg_id: str
    timestamp: int
    verified: bool
    body: bytes
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival
    status: int  # what we answered
    path: str = "/hook"  # which of the receiver's URLs it came to

    @property
    def event(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value

    @property
    def type(self) -> str:
        return str(self.event["type"])

    @property
    def data(self) -> dict[str, Any]:
        value: dict[str, Any] = self.event["data"]
        return value


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # never answer (until the server closes)


class WebhookReceiver(LoopbackServer):
    """POST /hook (and /hook/<anything>): records, verifies and answers each delivery."""

    def __init__(
        self, secret: str, *, latency: float = 0.0, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(latency)
        self.secret = secret
        self.clock = clock
        self.received: list[Received] = []
        self.script: list[Answer] = []  # answers for the next deliveries, in order
        self.app.router.add_post("/hook", self._hook)
        self.app.router.add_post("/hook/{name}", self._hook)

    def url(self, name: str = "") -> str:
        return f"{self.origin}/hook" + (f"/{name}" if name else "")

    def answer(self, *answers: Answer) -> None:
        self.script.extend(answers)

    # ---- inspection ----------------------------------------------------------------

    @property
    def delivered(self) -> list[Received]:
        """Deliveries answered 2xx, each webhook-id once (a receiver dedupes on it)."""
        seen: dict[str, Received] = {}
        for item in self.received:
            if 200 <= item.status < 300:
                seen.setdefault(item.msg_id, item)
        return list(seen.values())

    def of_type(self, event_type: str) -> list[Received]:
        return [item for item in self.delivered if item.type == event_type]

    def types(self) -> list[str]:
        return [item.type for item in self.delivered]

    # ---- HTTP ----------------------------------------------------------------------

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        answer = self.script.pop(0) if self.script else Answer()
        verified = verify(self.secret, headers, body, self.clock())
        status = answer.status if verified else 401
        self.received.append(
            Received(
                msg_id=headers.get("webhook-id", ""),
                timestamp=int(headers.get("webhook-timestamp", "0") or 0),
                verified=verified,
                body=body,
                headers=headers,
                at=time.monotonic(),
                status=status,
                path=request.path,
            )
        )
        if answer.hang:
            await asyncio.Event().wait()  # a receiver that never answers
        await self._simulate_latency()
        return web.Response(status=status, headers=answer.headers, text="")
