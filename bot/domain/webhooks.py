"""Outbound webhooks as Standard Webhooks v1 (standardwebhooks.com) define them: pure rules.

The secret's form, which URLs are acceptable, the signature, the retry schedule, what an
answer means, and the body: `{"type", "timestamp", "data"}` serialised by json.dumps only, so
caller text can never change its shape. Sending is bot/outbox/webhooks.py's; the flows say
which event happened (bot/flows/webhooks.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from bot.domain.leads import LeadRecord, LeadState

EventType = Literal[
    "lead.created",
    "lead.texted",
    "lead.replied",
    "message.received",
    "message.sent",
    "lead.claimed",
    "lead.booked",
    "lead.closed",
    "lead.reopened",
    "intake.submitted",
    "consent.opted_out",
    "consent.opted_in",
    "webhook.test",
]

SECRET_PREFIX = "whsec_"
SECRET_MIN_BYTES = 24
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

# The specification's schedule after the first attempt: about 5 s, 5 min, 30 min, 2 h, 5 h,
# 10 h, 14 h, 20 h and 24 h. Ten attempts over about three days, then the event is kept as
# failed until `/textback webhook retry`.
RETRY_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
ATTEMPTS = len(RETRY_SCHEDULE) + 1
JITTER = 0.1  # each delay is drawn within ±10 %
MAX_RETRY_AFTER = 86400.0  # a receiver's Retry-After is honoured up to a day
TIMEOUT_SECONDS = 15.0


# --- the secret and the URLs ------------------------------------------------------------------


def secret_key(secret: str) -> bytes:
    """The HMAC key: the base64 after `whsec_`. ValueError (never echoing the secret) if the
    text is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(
            f"must start with {SECRET_PREFIX} (make one: python -m bot webhook secret)"
        )
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"the part after {SECRET_PREFIX} must be base64") from exc
    if len(key) < SECRET_MIN_BYTES:
        raise ValueError(
            f"the part after {SECRET_PREFIX} must decode to at least {SECRET_MIN_BYTES} bytes"
        )
    return key


def new_secret(size: int = 32) -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(size)).decode()


def check_url(url: str) -> str:
    """A receiver's URL: https, or http to a loopback address only (a receiver on the same
    machine). ValueError says what is wrong without repeating the URL: a catch-hook URL is as
    good as a password."""
    text = url.strip()
    if not text or any(c.isspace() for c in text):
        raise ValueError("a URL may not contain spaces")
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 -- raises ValueError for a port out of range
    except ValueError as exc:
        raise ValueError("not a URL") from exc
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError("must be an https:// URL")
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise ValueError("must be https:// (plain http:// only for localhost, 127.0.0.1 or ::1)")
    return text


def shown_url(url: str) -> str:
    """The URL as Slack and the logs show it: host and a hint of the path, never the whole
    path (Zapier's and Make's hook URLs are their only secret)."""
    parts = urlsplit(url)
    rest = parts.path + (f"?{parts.query}" if parts.query else "")
    if len(rest) > 8:
        rest = f"/…{rest[-4:]}"
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{rest}"


def url_key(url: str) -> str:
    """A short stable name for a URL, for Redis keys and job ids (the URL itself stays out)."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


# --- signing ------------------------------------------------------------------------------------


def sign(key: bytes, msg_id: str, timestamp: int, body: str) -> str:
    """`v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))."""
    signed = f"{msg_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(key: bytes, msg_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(key, msg_id, timestamp, body),
    }


def event_id(cause: str) -> str:
    """webhook-id from what caused the event (a CallSid, a MessageSid, a Slack ts, ...): a
    redelivered webhook or a re-run job names the same event, so a receiver dedupes it."""
    return "msg_" + hashlib.sha256(cause.encode()).hexdigest()[:24]


def fresh_event_id() -> str:
    return "msg_" + secrets.token_hex(12)


# --- answers and retries ------------------------------------------------------------------------

Verdict = Literal["delivered", "gone", "retry"]


def verdict(status: int) -> Verdict:
    """2xx ends it; 410 Gone means the endpoint is gone (disable it); anything else, a redirect
    included (never followed), is tried again on the schedule."""
    if 200 <= status < 300:
        return "delivered"
    if status == 410:
        return "gone"
    return "retry"


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), capped at a day."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            seconds = parsedate_to_datetime(text).timestamp() - now
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def retry_delay(
    failed_attempt: int, after: float | None = None, rand: random.Random | None = None
) -> float:
    """Seconds until the next attempt after attempt `failed_attempt` (0-based) failed: the
    schedule with jitter, never sooner than the receiver's Retry-After (on 429 or 503)."""
    base = RETRY_SCHEDULE[min(failed_attempt, len(RETRY_SCHEDULE) - 1)]
    draw = (rand or random).uniform(1 - JITTER, 1 + JITTER)
    return max(base * draw, after or 0.0)


# --- the body -----------------------------------------------------------------------------------


def iso(at: float | None) -> str | None:
    """ISO 8601 in UTC, to the second: 2026-11-03T14:05:09Z."""
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def body(event_type: str, at: float, data: Mapping[str, Any]) -> str:
    """The one place a body is made: json.dumps, whatever the caller typed."""
    payload = {"type": event_type, "timestamp": iso(at), "data": data}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def person(slack_id: str, names: Mapping[str, str]) -> dict[str, str | None] | None:
    if not slack_id:
        return None
    return {"slack_id": slack_id, "display_name": names.get(slack_id)}


def permalink(workspace_url: str | None, channel: str, ts: str) -> str | None:
    """The lead card's link, built from the workspace URL auth.test gives (the form
    chat.getPermalink answers for a thread's parent), so no Slack call is made per lead."""
    if not workspace_url or not channel or not ts:
        return None
    return f"{workspace_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"


def lead_data(
    record: LeadRecord,
    *,
    line_id: str,
    line_name: str,
    names: Mapping[str, str],
    workspace_url: str | None,
) -> dict[str, Any]:
    """What a CRM needs about a lead without another call, as of record.event_version."""
    lead = record.state
    return {
        "id": record.lead_id,
        "version": record.event_version,
        "state": lead.state,
        "urgent": lead.urgent,
        "line": {"id": line_id, "name": line_name},
        "business_number": record.business_number or None,
        "caller": {"number": lead.phone, "name": record.caller_name or None},
        "claimer": person(lead.claimer, names),
        "auto_text": {"status": record.auto_text or None, "error": record.auto_text_error or None},
        "called_at": iso(record.called_at),
        "texted_at": iso(record.texted_at),
        "first_reply_at": iso(record.first_reply_at),
        "first_answer_at": iso(record.first_answer_at),
        "first_answer_by": person(record.first_answer_by, names),
        "booked_at": iso(lead.booked_at),
        "closed_at": iso(lead.closed_at),
        "messages": {"from_caller": record.texts_in, "to_caller": record.texts_out},
        "slack_permalink": permalink(workspace_url, lead.channel, lead.ts),
    }


def people_in(facts: Mapping[str, Any]) -> set[str]:
    """Slack ids an event's own facts name (who acted, who wrote the text)."""
    return {str(facts[key]) for key in ("by",) if facts.get(key)}


def event_data(
    lead: dict[str, Any] | None, facts: Mapping[str, Any], names: Mapping[str, str]
) -> dict[str, Any]:
    """data: the lead (when the event is about one) and the event's own facts, where a Slack
    id under "by" becomes {slack_id, display_name}."""
    data: dict[str, Any] = {}
    if lead is not None:
        data["lead"] = lead
    for key, value in facts.items():
        data[key] = person(str(value), names) if key == "by" else value
    return data


# --- a receiver's state, as /textback webhook shows it ------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    url: str
    disabled_at: float | None = None  # a 410 Gone disabled it
    last_success_at: float | None = None
    delivered: int = 0  # events delivered
    failing: int = 0  # attempts failed since the last success
    failed: int = 0  # events given up on, kept for `/textback webhook retry`
    last_error: str = ""
    last_error_at: float | None = None

    @classmethod
    def from_hash(cls, url: str, h: Mapping[str, str], failed: int) -> Endpoint:
        def at(name: str) -> float | None:
            return float(h[name]) if h.get(name) else None

        return cls(
            url=url,
            disabled_at=at("disabled_at"),
            last_success_at=at("last_success_at"),
            delivered=int(h.get("delivered") or 0),
            failing=int(h.get("failing") or 0),
            failed=failed,
            last_error=h.get("last_error", ""),
            last_error_at=at("last_error_at"),
        )

    @property
    def state(self) -> str:
        if self.disabled_at is not None:
            return "disabled"
        return "failing" if self.failing else "active"


# --- links to a caller's photos -----------------------------------------------------------------

MEDIA_LINK_DAYS = 30


def _media_key(key: bytes) -> bytes:
    """Media links are signed with a key of their own, derived from the webhook secret."""
    return hmac.new(key, b"textback media link v1", hashlib.sha256).digest()


def media_token(key: bytes, url: str, expires: int) -> str:
    """A token naming one of Twilio's media URLs until `expires`, that only we can make."""
    claim = json.dumps({"u": url, "e": expires}, separators=(",", ":")).encode()
    mac = hmac.new(_media_key(key), claim, hashlib.sha256).digest()[:16]
    return f"{_b64(claim)}.{_b64(mac)}"


def media_url(key: bytes, token: str, now: float) -> str | None:
    """The media URL a token names, or None when it is forged, damaged or expired."""
    claim_text, _, mac_text = token.partition(".")
    try:
        claim = base64.urlsafe_b64decode(claim_text + "=" * (-len(claim_text) % 4))
        mac = base64.urlsafe_b64decode(mac_text + "=" * (-len(mac_text) % 4))
    except (binascii.Error, ValueError):
        return None
    expected = hmac.new(_media_key(key), claim, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        found = json.loads(claim)
        url, expires = str(found["u"]), float(found["e"])
    except (ValueError, KeyError, TypeError):
        return None
    return url if now < expires else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sample(line_id: str, line_name: str, channel: str) -> dict[str, Any]:
    """A webhook.test event's data: every field a real event has, with example values, so a
    tool that learns a webhook's fields from its first event (Make) learns them all."""
    at = 1_796_400_000.0
    lead = LeadState(
        phone="+12025550123", line=line_id, channel=channel, state="claimed", claimer="U0EXAMPLE"
    )
    record = LeadRecord(
        lead_id="example",
        state=lead,
        business_number="+12125550100",
        caller_name="Dana Reyes",
        called_at=at,
        texted_at=at + 2,
        auto_text="sent",
        first_reply_at=at + 120,
        first_answer_at=at + 300,
        first_answer_by="U0EXAMPLE",
        texts_in=1,
        texts_out=2,
    )
    names = {"U0EXAMPLE": "example"}
    return {
        "test": True,
        "note": "A test event from textback: the lead and the message are examples.",
        "lead": lead_data(
            record, line_id=line_id, line_name=line_name, names=names, workspace_url=None
        ),
        "message": {
            "direction": "inbound",
            "kind": "text",
            "sid": "SM0example",
            "text": "Hi, can someone come look at my panel today?",
            "keyword": None,
            "media": [
                {"url": "https://example.invalid/media/example", "content_type": "image/jpeg"}
            ],
        },
    }
