"""Helpers for tests/test_hostile_*.py: raw signed requests, odd values, and "nothing changed".

Hypothesis runs many examples against one running app (the `harness` fixture): each example uses
fresh sids, so examples don't interfere, and the profile in conftest.py keeps the count modest.
"""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import strategies as st
from redis.asyncio import Redis
from yarl import URL

from bot.domain.jobs import QUEUES
from tests.conftest import PUBLIC_URL, SIGNING_SECRET, Harness
from tests.signing import slack_headers, twilio_signature

FORM = "application/x-www-form-urlencoded"
TWILIO_ROUTES = (
    "/twilio/voice",
    "/twilio/voice/screen",
    "/twilio/voice/screen-accept",
    "/twilio/voice/dial-status",
    "/twilio/voice/status",
    "/twilio/voice/recording",
    "/twilio/voice/transcription",
    "/twilio/voice/recorded",
    "/twilio/call-back/answer",
    "/twilio/call-back/connect",
    "/twilio/call-back/dialled",
    "/twilio/call-back/status",
    "/twilio/sms",
    "/twilio/sms/status",
)

# What the "From" of a call or text can hold: hidden caller IDs, keypad spellings, short codes,
# letters, far too many digits, digits from other scripts, punctuation only.
ODD_NUMBERS = (
    "",
    " ",
    "anonymous",
    "Anonymous",
    "+anonymous",
    "unknown",
    "restricted",
    "private",
    "unavailable",
    "+",
    "++",
    "266696687",  # ANONYMOUS on a keypad
    "+266696687",
    "7378",  # a short code
    "22395",
    "+1",
    "1",
    "0",
    "911",
    "abc",
    "CALL-NOW",
    "+1 202 PLUMBER",
    "4" * 40,
    "+" + "9" * 40,
    "+١٢٠٢٥٥٥٠١٢٣",  # Arabic-Indic digits
    "+１２０２５５５０１２３",  # fullwidth digits
    "+1\u200b2025550123",  # a zero-width space inside
    "client:alice",
    "sip:alice@example.com",
    "+12025550123\x00",
    "()-.",
    "+1 (202) 555-0123",
    "2025550123",
    "+12025550123",
    "+12125550142",
)

odd_numbers = st.sampled_from(ODD_NUMBERS) | st.text(max_size=45)
# Values Twilio never sends but a form may carry: empty, huge, control and non-BMP characters.
odd_values = st.one_of(
    st.sampled_from(["", " ", "0", "-1", "1e3", "NaN", "99999999999999999999", "٣", "true"]),
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
)


def signed_twilio(harness: Harness, path: str, params: dict[str, str]) -> dict[str, str]:
    token = harness.settings.twilio_auth_token.get_secret_value()
    return {"X-Twilio-Signature": twilio_signature(token, PUBLIC_URL + path, params)}


async def post_twilio(harness: Harness, path: str, params: dict[str, str]) -> Any:
    """A form POST signed the way Twilio signs it, whatever the params hold. The path goes out
    byte for byte as given (encoded=True), as Twilio requests the URL it signed: the client
    would otherwise normalise it (%3A to :) and no longer match the signature."""
    body = urlencode(params).encode()
    headers = {"Content-Type": FORM, **signed_twilio(harness, path, params)}
    url = URL(str(harness.client.make_url("/")).rstrip("/") + path, encoded=True)
    return await harness.client.session.post(url, data=io.BytesIO(body), headers=headers)


async def post_slack(
    harness: Harness, body: bytes | str, content_type: str = "application/json", **headers: str
) -> Any:
    """A body signed the way Slack signs it (any body: valid or not)."""
    raw = body.encode() if isinstance(body, str) else body
    signed = {"Content-Type": content_type, **slack_headers(SIGNING_SECRET, raw), **headers}
    return await harness.client.post("/slack/events", data=io.BytesIO(raw), headers=signed)


def event_body(event: Any, event_id: str) -> str:
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0TEAM",
            "api_app_id": "A0APP",
            "event_id": event_id,
            "event_time": 1_700_000_000,
            "event": event,
        }
    )


def interactive_body(payload: Any) -> str:
    return "payload=" + quote(json.dumps(payload))


async def snapshot(harness: Harness) -> dict[str, bytes | None]:
    """Every key under the test's prefix with its serialised value (the outbox streams aside:
    they hold only jobs, and the stand-ins show whether any job ran)."""
    redis: Redis = harness.services.redis
    keys = harness.services.keys
    streams = {keys.stream(queue) for queue in QUEUES}
    found = sorted(
        {key async for key in redis.scan_iter(match=f"{keys.prefix}:*", count=1000)} - streams
    )
    return {key: await redis.dump(key) for key in found}


async def stream_lengths(harness: Harness) -> dict[str, int]:
    """Jobs on each outbox stream. The webhooks stream (added after these tests were written)
    is listed only when it holds a job, so a job on any stream still shows as a difference."""
    redis: Redis = harness.services.redis
    keys = harness.services.keys
    found = {queue: await redis.xlen(keys.stream(queue)) for queue in QUEUES}
    if not found.get("webhooks"):
        found.pop("webhooks", None)
    return found


def outside_requests(harness: Harness) -> int:
    """Requests the app made to Slack and Twilio so far."""
    twilio = harness.twilio
    return len(harness.slack.calls) + len(twilio.attempts) + len(twilio.media_fetches)
