"""Redis, the Slack and Twilio clients and the store: what the web app and a worker both open.

Kept apart from bot/app.py so a worker process never imports Bolt and the webhook handlers.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import aiohttp

from bot.clients import slack_client, twilio_client
from bot.lines import Lines, default_line
from bot.metrics import Metrics
from bot.services import Services
from bot.settings import Settings
from storage import connection as redis_client
from storage.keys import Keys
from storage.leads import LeadStore
from storage.line_config import LineConfig
from storage.outbox import Outbox
from storage.store import Store

DEFAULT_REDIS_URL = "redis://localhost:6379/0"


@asynccontextmanager
async def open_services(
    settings: Settings, clock: Callable[[], float] = time.time
) -> AsyncIterator[Services]:
    """Redis, the clients and the store, for the web app or a worker on its own."""
    redis = redis_client.connect(
        settings.redis_url or DEFAULT_REDIS_URL,
        max_connections=settings.redis_max_connections,
        read_block_ms=settings.worker_read_block_ms,
    )
    keys = Keys(settings.redis_key_prefix)
    twilio, twilio_http = twilio_client(settings)
    slack, slack_session = slack_client(settings)
    http = aiohttp.ClientSession()
    services = Services(
        settings=settings,
        redis=redis,
        store=Store(redis, keys),
        leads=LeadStore(redis, keys),
        outbox=Outbox(redis, keys),
        lines=Lines(default_line(settings), LineConfig(redis, keys)),
        metrics=Metrics(),
        slack=slack,
        twilio=twilio,
        http=http,
        clock=clock,
    )
    try:
        # No Redis call here: a server that starts while Redis is down still answers /healthz
        # (503) and recovers by itself; the worker creates the consumer groups when it can.
        yield services
    finally:
        await http.close()
        await slack_session.close()
        await twilio_http.close()
        await redis.aclose()
