"""POST /slack/events: the aiohttp request handed to Bolt, once it is something Bolt can read.

Bolt parses the body while its request object is built, before any middleware runs, and its
signature check calls int() on the timestamp header: invalid UTF-8, broken JSON, a JSON array,
a payload of the wrong shape or a timestamp like "yesterday" would each surface as a 500, which
Slack retries. Such a request answers 401 when it isn't signed (like anything unsigned) and 400
with what was wrong when it is.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from handlers.slack import shapes as slack_shapes

log = logging.getLogger(__name__)

BOLT = web.AppKey("bolt", AsyncApp)
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
MAX_AGE = 300  # seconds, as Slack documents and Bolt checks
# What Bolt's body parsing and payload extractors raise on a body of the wrong shape.
_UNREADABLE = (ValueError, TypeError, AttributeError, KeyError, IndexError)


class Unreadable(ValueError):
    """A body Bolt cannot dispatch; the message says why (never the body itself)."""


def _bolt_request(raw: bytes, request: web.Request) -> AsyncBoltRequest:
    try:
        bolt_request = AsyncBoltRequest(
            body=raw.decode("utf-8"),
            query=request.query_string,
            headers=request.headers,  # type: ignore[arg-type]
        )
    except UnicodeDecodeError:
        raise Unreadable("the body is not UTF-8") from None
    except _UNREADABLE as exc:
        raise Unreadable(f"the body is not a Slack payload ({type(exc).__name__})") from None
    problem = slack_shapes.problem(bolt_request.body)
    if problem is not None:
        raise Unreadable(problem)
    return bolt_request


class SlackSignature:
    """Slack's v0 signature over the raw bytes, for bodies Bolt can't take (slack_sdk's verifier
    decodes them as UTF-8 first, and raises on those that aren't)."""

    def __init__(self, signing_secret: str) -> None:
        self._secret = signing_secret.encode()

    def valid(self, raw: bytes, request: web.Request) -> bool:
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not _TIMESTAMP.fullmatch(timestamp) or abs(time.time() - int(timestamp)) > MAX_AGE:
            return False
        base = b"v0:" + timestamp.encode() + b":" + raw
        expected = "v0=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), signature.encode())


SLACK_SIGNATURE = web.AppKey("slack_signature", SlackSignature)


def _refused() -> web.Response:
    return web.json_response({"error": "invalid request signature"}, status=401)


async def slack_endpoint(request: web.Request) -> web.StreamResponse:
    raw = await request.read()  # the app's client_max_size answers 413 past its cap
    timestamp = request.headers.get("X-Slack-Request-Timestamp")
    if timestamp is not None and not _TIMESTAMP.fullmatch(timestamp):
        return _refused()
    try:
        bolt_request = _bolt_request(raw, request)
    except Unreadable as exc:
        if not request.app[SLACK_SIGNATURE].valid(raw, request):
            return _refused()
        log.warning("slack request refused: %s", exc)
        return web.json_response({"error": f"unreadable Slack payload: {exc}"}, status=400)
    bolt = request.app[BOLT]
    return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))
