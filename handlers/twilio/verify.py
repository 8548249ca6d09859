"""Twilio webhook verification: X-Twilio-Signature over PUBLIC_URL + path + query + POST params.

The URL is rebuilt from the configured public base, never from Host or X-Forwarded-* headers,
which a proxy may rewrite and an attacker may forge.
"""

from __future__ import annotations

import logging

from aiohttp import web
from multidict import MultiDict, MultiDictProxy
from twilio.request_validator import RequestValidator

from bot.settings import Settings

log = logging.getLogger(__name__)


class TwilioVerifier:
    def __init__(self, settings: Settings) -> None:
        self._validator = RequestValidator(settings.twilio_auth_token.get_secret_value())
        self._public_url = settings.public_url

    async def form(self, request: web.Request) -> MultiDictProxy[str]:
        """The POST params of a genuine Twilio request; 403 for anything else."""
        try:
            form = await request.post()
        except (UnicodeDecodeError, LookupError):
            # Twilio sends UTF-8; bytes that aren't (or an unknown charset) were never signed.
            log.warning("twilio form unreadable path=%s", request.path)
            raise web.HTTPBadRequest(text="unreadable form: send UTF-8") from None
        # Every value of every name is signed (the validator reads MultiDict.getall): a dict
        # would keep only the last From=, while handlers read the first, so a captured genuine
        # request with an extra From=/Body= put in front would pass as genuine.
        params = MultiDict((key, value) for key, value in form.items() if isinstance(value, str))
        url = self._public_url + str(request.rel_url)
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not self._validator.validate(url, params, signature):
            log.warning("twilio signature rejected path=%s", request.path)
            raise web.HTTPForbidden(text="invalid Twilio signature")
        return MultiDictProxy(form)  # type: ignore[arg-type]


def field(form: MultiDictProxy[str], name: str, default: str = "") -> str:
    value = form.get(name, default)
    return value if isinstance(value, str) else default


def required(form: MultiDictProxy[str], name: str) -> str:
    value = field(form, name).strip()
    if not value:
        raise web.HTTPBadRequest(text=f"missing {name}")
    return value
