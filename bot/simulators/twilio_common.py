"""What every part of the Twilio simulator shares: sids, dates, the error body."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from email.utils import format_datetime

from aiohttp import web

API_VERSION = "2010-04-01"


def new_sid(prefix: str) -> str:
    """A Twilio-shaped sid: two letters and 32 hex digits (SM..., CA..., PN...)."""
    return prefix + secrets.token_hex(16)


def rfc2822_now() -> str:
    """The 2010 API's date format: `Fri, 04 Dec 2026 15:47:00 +0000`."""
    return format_datetime(datetime.now(UTC))


def twilio_error(status: int, code: int, message: str) -> web.Response:
    """An error body in the legacy shape twilio-python turns into TwilioRestException."""
    body = {
        "code": code,
        "message": message,
        "status": status,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
    }
    return web.json_response(body, status=status)


def not_found(request: web.Request) -> web.Response:
    return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
