"""Everything a flow, a handler or the worker needs, opened once per process and passed down.

`open_services` is what the web app (bot/app.py) and a worker on its own (bot/cli.py) both
open; it never imports Bolt or the handlers, so a worker process doesn't either.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient
from twilio.rest import Client as TwilioClient

from bot.clients import slack_client, twilio_client
from bot.lines import Lines, default_line
from bot.metrics import Metrics
from bot.settings import Settings
from storage import connection
from storage.callers import Callers
from storage.calls import Calls
from storage.health import ServiceRecords
from storage.intake import IntakeStore
from storage.keys import Keys
from storage.leads import LeadStore
from storage.ledger import Ledger
from storage.line_config import LineConfig
from storage.markers import Markers
from storage.outbox import Outbox
from storage.pacing import Pacing
from storage.stats import Stats
from storage.threads import Threads
from storage.webhooks import Webhooks

DEFAULT_REDIS_URL = "redis://localhost:6379/0"


@dataclass
class Services:
    settings: Settings
    redis: Redis  # for a flow that batches several stores' commands in one pipeline
    keys: Keys
    # The store, one object per concern (storage/): what a call, a caller, a thread, ... holds.
    calls: Calls
    callers: Callers
    threads: Threads
    markers: Markers
    pacing: Pacing
    leads: LeadStore
    stats: Stats
    ledger: Ledger
    intake: IntakeStore
    line_config: LineConfig
    records: ServiceRecords
    webhooks: Webhooks
    outbox: Outbox
    lines: Lines
    metrics: Metrics
    slack: AsyncWebClient
    twilio: TwilioClient
    http: aiohttp.ClientSession  # for fetching MMS media from Twilio
    # For webhook receivers: no cookie jar (a receiver's cookies are not ours to send back).
    webhook_http: aiohttp.ClientSession
    clock: Callable[[], float] = field(default=time.time)


@asynccontextmanager
async def open_services(
    settings: Settings, clock: Callable[[], float] = time.time
) -> AsyncIterator[Services]:
    """Redis, the clients and the stores, for the web app or a worker on its own."""
    redis = connection.connect(
        settings.redis_url or DEFAULT_REDIS_URL,
        max_connections=settings.redis_max_connections,
        read_block_ms=settings.worker_read_block_ms,
    )
    keys = Keys(settings.redis_key_prefix)
    twilio, twilio_http = twilio_client(settings)
    slack, slack_session = slack_client(settings)
    http = aiohttp.ClientSession()
    webhook_http = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
    line_config = LineConfig(redis, keys)
    services = Services(
        settings=settings,
        redis=redis,
        keys=keys,
        calls=Calls(redis, keys),
        callers=Callers(redis, keys),
        threads=Threads(redis, keys),
        markers=Markers(redis, keys),
        pacing=Pacing(redis, keys),
        leads=LeadStore(redis, keys),
        stats=Stats(redis, keys),
        ledger=Ledger(redis, keys),
        intake=IntakeStore(redis, keys),
        line_config=line_config,
        records=ServiceRecords(redis, keys),
        webhooks=Webhooks(redis, keys),
        outbox=Outbox(redis, keys),
        lines=Lines(default_line(settings), line_config),
        metrics=Metrics(),
        slack=slack,
        twilio=twilio,
        http=http,
        webhook_http=webhook_http,
        clock=clock,
    )
    try:
        # No Redis call here: a server that starts while Redis is down still answers /healthz
        # (503) and recovers by itself; the worker creates the consumer groups when it can.
        yield services
    finally:
        await http.close()
        await webhook_http.close()
        await slack_session.close()
        await twilio_http.close()
        await redis.aclose()
