"""A caller's photo (MMS): fetched from Twilio with the account's credentials, uploaded into
the caller's thread."""

from __future__ import annotations

import base64

import aiohttp

from bot.domain.jobs import MediaUpload
from bot.outbox import slack_api
from bot.outbox.errors import Retry
from bot.services import Services

MAX_MEDIA_BYTES = 20 * 1024 * 1024


async def fetch(services: Services, url: str) -> bytes:
    """Media (or a recording) from Twilio, with the account's credentials."""
    settings = services.settings
    # A plain header: aiohttp 3.14 deprecates BasicAuth; it still drops it on cross-host redirects.
    credentials = f"{settings.twilio_account_sid}:{settings.twilio_auth_token.get_secret_value()}"
    auth = {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}
    try:
        async with services.http.get(
            url, headers=auth, timeout=aiohttp.ClientTimeout(total=30)
        ) as resp:
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
