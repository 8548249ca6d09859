"""Webhooks sent the way Twilio and Slack send them, including their retries and duplicates.

A delivery is retried (with a short backoff) on a 5xx or a broken connection, against the next
server in the list, until it is acknowledged with a 2xx: what a persistent sender does. Only an
acknowledged event counts as "sent"; the service promised nothing about the rest.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.faults.cluster import BUSINESS_NUMBER, CHANNEL, PUBLIC_URL, SIGNING_SECRET
from tests.signing import slack_headers, twilio_signature

CREW_USER = "U0CREW"


def sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


@dataclass
class Sent:
    """What the driver delivered, for the tally."""

    events: int = 0  # distinct events acknowledged
    deliveries: int = 0  # HTTP requests made, duplicates and retries included
    statuses: Counter[str] = field(default_factory=Counter)  # "200", "503", "refused", ...
    acked_at: list[float] = field(default_factory=list)


class Driver:
    def __init__(
        self, webs: Callable[[], list[str]], auth_token: str, keep_alive: bool = True
    ) -> None:
        self.webs = webs  # the live servers' base URLs, asked afresh for each attempt
        self.auth_token = auth_token
        self.sent = Sent()
        self._rotation = itertools.count()
        self.http = aiohttp.ClientSession(
            # Without keep-alive, a request "cut off" can't be a reused connection the server
            # had already closed: it was cut while the server had it.
            connector=aiohttp.TCPConnector(limit=200, force_close=not keep_alive),
            timeout=aiohttp.ClientTimeout(total=20),
        )

    async def close(self) -> None:
        await self.http.close()

    # ---- Twilio ----------------------------------------------------------------------------

    async def missed_call(self, caller: str, copies: int = 1) -> str:
        call_sid = sid("CA")
        params = {
            "CallSid": call_sid,
            "From": caller,
            "To": BUSINESS_NUMBER,
            "Direction": "inbound",
            "DialCallStatus": "no-answer",
        }
        await self.twilio("/twilio/voice/dial-status", params, copies)
        return call_sid

    async def caller_text(self, caller: str, body: str, copies: int = 1) -> str:
        message_sid = sid("SM")
        params = {
            "MessageSid": message_sid,
            "From": caller,
            "To": BUSINESS_NUMBER,
            "Body": body,
            "NumMedia": "0",
        }
        await self.twilio("/twilio/sms", params, copies)
        return message_sid

    async def twilio(self, path: str, params: dict[str, str], copies: int = 1) -> None:
        """`copies` concurrent deliveries of one event (Twilio does redeliver), each retried."""
        signature = twilio_signature(self.auth_token, PUBLIC_URL + path, params)
        headers = {"X-Twilio-Signature": signature}
        await asyncio.gather(*(self._deliver(path, headers, data=params) for _ in range(copies)))
        self._acked()

    # ---- Slack -----------------------------------------------------------------------------

    async def crew_reply(self, thread_ts: str, text: str, retries: int = 0) -> None:
        """A crew member's thread reply; with retries, Slack's retries of it (same event_id,
        X-Slack-Retry-Num 1..retries) arrive at the same time as the original."""
        event = {
            "type": "message",
            "channel": CHANNEL,
            "user": CREW_USER,
            "text": text,
            "ts": f"{time.time():.6f}{random.randrange(10)}",
            "thread_ts": thread_ts,
        }
        body = json.dumps(
            {
                "type": "event_callback",
                "team_id": "T0TEAM",
                "api_app_id": "A0APP",
                "event_id": sid("Ev"),
                "event_time": int(time.time()),
                "event": event,
            }
        )

        async def attempt(number: int) -> None:
            headers = {"Content-Type": "application/json", **slack_headers(SIGNING_SECRET, body)}
            if number:
                headers["X-Slack-Retry-Num"] = str(number)
                headers["X-Slack-Retry-Reason"] = "http_timeout"
            await self._deliver("/slack/events", headers, data=body)

        await asyncio.gather(*(attempt(n) for n in range(retries + 1)))
        self._acked()

    # ---- delivery --------------------------------------------------------------------------

    async def _deliver(
        self, path: str, headers: dict[str, str], data: Any, deadline: float = 90
    ) -> None:
        give_up = time.monotonic() + deadline
        delay = 0.1
        while True:
            webs = self.webs()
            base = webs[next(self._rotation) % len(webs)] if webs else None
            self.sent.deliveries += 1
            if base is not None:
                try:
                    async with self.http.post(base + path, data=data, headers=headers) as reply:
                        await reply.read()
                        self.sent.statuses[str(reply.status)] += 1
                        if reply.status < 300:
                            return
                        if reply.status < 500:
                            raise AssertionError(f"{path} answered {reply.status}")
                except aiohttp.ClientConnectorError:
                    self.sent.statuses["refused"] += 1  # not listening: nothing was received
                except (aiohttp.ClientError, TimeoutError):
                    self.sent.statuses["cut off"] += 1  # sent, but no answer came back
            if time.monotonic() > give_up:
                raise AssertionError(f"{path} never acknowledged within {deadline}s")
            await asyncio.sleep(delay)  # a sender's backoff before retrying, not synchronisation
            delay = min(1.0, delay * 2)

    def _acked(self) -> None:
        self.sent.events += 1
        self.sent.acked_at.append(time.monotonic())
