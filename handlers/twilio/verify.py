"""Twilio webhook verification: X-Twilio-Signature over PUBLIC_URL + path + query + POST params.

The URL is rebuilt from the configured public base, never from Host or X-Forwarded-* headers,
which a proxy may rewrite and an attacker may forge. The check is the Twilio sub-app's middleware,
so it runs before every route; a handler reads the verified form from `request[FORM]`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

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


VERIFIER = web.AppKey("twilio_verifier", TwilioVerifier)
FORM = web.RequestKey("twilio_form", MultiDictProxy[str])


@web.middleware
async def signed_by_twilio(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """403 (400 for an unreadable form) before any route of the sub-app runs, unless Twilio signed
    the request; the verified form under request[FORM]. A path or method with no route goes on to
    its 404 or 405 unread."""
    if request.match_info.http_exception is None:
        # The sub-app leaves the request's URL alone: rel_url still starts with /twilio, the URL
        # Twilio requested and signed (tests/test_hostile_signatures.py fails if that changes).
        request[FORM] = await request.config_dict[VERIFIER].form(request)
    return await handler(request)


def field(form: MultiDictProxy[str], name: str, default: str = "") -> str:
    value = form.get(name, default)
    return value if isinstance(value, str) else default


def required(form: MultiDictProxy[str], name: str) -> str:
    value = field(form, name).strip()
    if not value:
        raise web.HTTPBadRequest(text=f"missing {name}")
    return value
