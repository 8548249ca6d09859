"""The official Slack and Twilio clients, pointed at SLACK_API_URL / TWILIO_API_URL."""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client as TwilioClient

from bot.settings import Settings


def slack_client(settings: Settings) -> AsyncWebClient:
    # No retry handlers: the outbox owns retries, so a retry can never double-post.
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[],
    )


def twilio_client(settings: Settings) -> tuple[TwilioClient, AsyncTwilioHttpClient]:
    """Must be called inside the running loop (the http client opens an aiohttp session)."""
    # twilio logs every request at INFO; one line per event is ours to write.
    logging.getLogger("twilio").setLevel(logging.WARNING)
    http = AsyncTwilioHttpClient(timeout=10)
    client = TwilioClient(
        settings.twilio_account_sid,
        settings.twilio_auth_token.get_secret_value(),
        http_client=http,
    )
    # Undocumented but stable: the Api domain's base URL (shared/PLATFORM.md).
    client.api.base_url = settings.twilio_api_url.rstrip("/")
    return client, http
