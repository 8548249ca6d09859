"""A caller's photo (MMS): fetched from Twilio, uploaded into the caller's thread.

The account's credentials go only to Twilio's API itself: the origin (scheme, host, port) of
TWILIO_API_URL. Twilio answers a media URL with a redirect to its CDN, which is followed
without them (the CDN refuses a request that carries them, and has no business seeing them).
A MediaUrl anywhere else (Twilio never sends one, but the URL is only as trusted as the
webhook) is fetched without credentials, and logged.
"""

from __future__ import annotations

import base64
import logging
from urllib.parse import urljoin

import aiohttp
from yarl import URL

from bot.domain.jobs import MediaUpload
from bot.outbox import slack_api
from bot.outbox.errors import Retry
from bot.services import Services

log = logging.getLogger(__name__)

MAX_MEDIA_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 3  # Twilio's media URL -> its CDN is one
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port), the port filled in for http and https."""
    parsed = URL(url)
    return (parsed.scheme.lower(), (parsed.host or "").lower(), parsed.port)


async def upload(services: Services, media: MediaUpload, thread_ts: str | None) -> None:
    channel = media.place.lead.channel
    content = await fetch(services, media.url)
    extension = media.content_type.split("/")[-1].split(";")[0] or "bin"
    await slack_api.call(
        services,
        channel,
        "files_upload_v2",
        channel=channel,
        thread_ts=thread_ts,
        content=content,
        filename=f"from-caller.{extension}",
        title="Photo from the caller",
    )


async def fetch(services: Services, url: str) -> bytes:
    """The media's bytes, following redirects by hand so credentials never leave Twilio's API."""
    settings = services.settings
    twilio = origin(settings.twilio_api_url)
    # A plain header: aiohttp 3.14 deprecates BasicAuth.
    secret = f"{settings.twilio_account_sid}:{settings.twilio_auth_token.get_secret_value()}"
    auth = {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}
    if origin(url) != twilio:
        host = URL(url).host or "?"
        log.warning("media url outside twilio's api fetched without credentials host=%s", host)
    for _ in range(MAX_REDIRECTS + 1):
        headers = auth if origin(url) == twilio else {}
        try:
            async with services.http.get(
                url,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=30),
            ) as resp:
                if resp.status in _REDIRECTS and "Location" in resp.headers:
                    url = urljoin(url, resp.headers["Location"])
                    continue
                if resp.status >= 500 or resp.status == 429:
                    raise Retry(f"media fetch {resp.status}")
                if resp.status != 200:
                    raise slack_api.Permanent(f"media fetch answered {resp.status}")
                # Chunk by chunk to the end: one read() returns only what has arrived so far.
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    size += len(chunk)
                    if size > MAX_MEDIA_BYTES:
                        raise slack_api.Permanent("media larger than 20 MB")
                    chunks.append(chunk)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Retry(f"media fetch failed: {type(exc).__name__}") from exc
        return b"".join(chunks)
    raise slack_api.Permanent(f"media fetch: more than {MAX_REDIRECTS} redirects")
