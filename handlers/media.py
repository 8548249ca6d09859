"""GET /media/<token>: a caller's photo, for a webhook receiver (message.media[].url).

Not a webhook: a receiver (a CRM, a Zap) following a link we signed for one of Twilio's media
URLs (bot/domain/webhooks.media_token, valid MEDIA_LINK_DAYS). Twilio's URLs need the
account's credentials, which must never leave us; this route fetches the file with them and
passes it on. It is the one route that waits on Twilio, because it serves Twilio's file.
"""

from __future__ import annotations

import base64
import logging

import aiohttp
from aiohttp import web

from bot.domain import webhooks
from handlers.app_keys import SERVICES

log = logging.getLogger(__name__)

MAX_TOKEN = 4096
MAX_MEDIA_BYTES = 20 * 1024 * 1024
FETCH_TIMEOUT = 30.0


async def media(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    settings = services.settings
    key = settings.webhook_key
    token = request.match_info["token"]
    url = (
        webhooks.media_url(key, token, services.clock()) if key and len(token) < MAX_TOKEN else None
    )
    # Only ever Twilio's API, whatever a token says (ours, but defence in depth).
    if url is None or not url.startswith(settings.twilio_api_url.rstrip("/") + "/"):
        raise web.HTTPNotFound(text="no such media, or the link expired")
    # A plain header: aiohttp drops it on the cross-host redirect to Twilio's file store.
    credentials = f"{settings.twilio_account_sid}:{settings.twilio_auth_token.get_secret_value()}"
    auth = {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}
    try:
        async with services.http.get(
            url, headers=auth, timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT)
        ) as upstream:
            if upstream.status == 404:
                raise web.HTTPNotFound(text="the media is gone")
            if upstream.status != 200:
                log.warning("media fetch answered %s", upstream.status)
                raise web.HTTPBadGateway(text="Twilio did not give the media; try again later")
            if (upstream.content_length or 0) > MAX_MEDIA_BYTES:
                raise web.HTTPBadGateway(text="the media is too large")
            response = web.StreamResponse(
                headers={
                    "Content-Type": upstream.headers.get(
                        "Content-Type", "application/octet-stream"
                    ),
                    "Cache-Control": "private, max-age=3600",
                    "X-Content-Type-Options": "nosniff",
                    "Content-Security-Policy": "default-src 'none'; sandbox",
                }
            )
            await response.prepare(request)
            sent = 0
            try:
                async for chunk in upstream.content.iter_chunked(64 * 1024):
                    sent += len(chunk)
                    if sent > MAX_MEDIA_BYTES:
                        break  # cut short: a truncated file, never our memory
                    await response.write(chunk)
            except (aiohttp.ClientError, TimeoutError) as exc:
                # The answer has begun: it can only end short.
                log.warning("media fetch broke off error=%s", type(exc).__name__)
            await response.write_eof()
            return response
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("media fetch failed error=%s", type(exc).__name__)
        raise web.HTTPBadGateway(text="Twilio did not answer; try again later") from None
