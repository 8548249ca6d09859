"""Sign webhook requests the way Twilio and Slack do, so receivers exercise real verification."""

from __future__ import annotations

import hashlib
import hmac
import time

from twilio.request_validator import RequestValidator


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Value for the X-Twilio-Signature header of a form POST of `params` to `url`."""
    return RequestValidator(auth_token).compute_signature(url, params)


def slack_headers(
    signing_secret: str, body: bytes | str, timestamp: int | None = None
) -> dict[str, str]:
    """X-Slack-Request-Timestamp and X-Slack-Signature for `body`; Content-Type is the caller's."""
    ts = int(time.time()) if timestamp is None else timestamp
    raw = body.encode() if isinstance(body, str) else body
    base = f"v0:{ts}:".encode() + raw
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}
