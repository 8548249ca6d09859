"""The official Slack and Twilio clients, pointed at SLACK_API_URL / TWILIO_API_URL."""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client as TwilioClient

from bot.settings import Settings

SLACK_TIMEOUT = 10
# Connections beyond the worker's slots (WORKER_CONCURRENCY): the web handlers' own calls (a
# modal must open within Slack's 3 s) never wait behind a full queue of jobs. aiohttp's
# default is 100 per session, which a higher setting would silently cap.
HANDLER_CONNECTIONS = 20


def connector(settings: Settings) -> aiohttp.TCPConnector:
    return aiohttp.TCPConnector(limit=settings.worker_concurrency + HANDLER_CONNECTIONS)


def slack_client(settings: Settings) -> tuple[AsyncWebClient, aiohttp.ClientSession]:
    """Must be called inside the running loop; close the session on shutdown.

    One session for every call: without it slack_sdk opens a new session and a new connection
    per API call, which under a burst cost more CPU than the posts themselves."""
    # slack_sdk formats a debug line per request unless its logger's own level says otherwise.
    sdk_log = logging.getLogger("slack_sdk.web.async_client")
    if sdk_log.level == logging.NOTSET:
        sdk_log.setLevel(sdk_log.getEffectiveLevel())
    session = aiohttp.ClientSession(
        connector=connector(settings), timeout=aiohttp.ClientTimeout(total=SLACK_TIMEOUT)
    )
    # No retry handlers: the outbox owns retries, so a retry can never double-post.
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=SLACK_TIMEOUT,
        retry_handlers=[],
        session=session,
    )
    return client, session


def twilio_client(settings: Settings) -> tuple[TwilioClient, AsyncTwilioHttpClient]:
    """Must be called inside the running loop (the http client opens an aiohttp session)."""
    # twilio logs every request at INFO; one line per event is ours to write.
    logging.getLogger("twilio").setLevel(logging.WARNING)
    http = AsyncTwilioHttpClient(pool_connections=False, timeout=10)
    http.session = aiohttp.ClientSession(connector=connector(settings))  # sized, and pooled
    client = TwilioClient(
        settings.twilio_account_sid,
        settings.twilio_auth_token.get_secret_value(),
        http_client=http,
    )
    # Undocumented but stable: each domain's base URL (shared/PLATFORM.md). Messaging Services
    # and Lookup are domains of their own; TWILIO_API_URL (a proxy, the simulator) serves all.
    base = settings.twilio_api_url.rstrip("/")
    if base != Settings.model_fields["twilio_api_url"].default:
        client.api.base_url = base
        client.messaging.base_url = base
        client.lookups.base_url = base
    return client, http
