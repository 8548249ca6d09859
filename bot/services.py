"""Everything a flow, a handler or the worker needs, opened once per process and passed down.

`open_services` is what the web app (bot/app.py) and a worker on its own (bot/cli.py) both
open; it never imports Bolt or the handlers, so a worker process doesn't either.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient
from twilio.rest import Client as TwilioClient

from bot.clients import slack_client, twilio_client
from bot.lines import Lines
from bot.metrics import Metrics
from bot.settings import Settings
from storage import connection
from storage.call_backs import CallBacks
from storage.callers import Callers
from storage.calls import Calls
from storage.crew import CrewPhones
from storage.health import ServiceRecords
from storage.holds import Holds
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
from storage.voicemail import Voicemails
from storage.webhooks import Webhooks

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
log = logging.getLogger(__name__)


class Background:
    """Work started after an answer went out (Slack waits 3 s for it, and no Slack call may
    sit before it): kept hold of, its failures logged, waited for on shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, object], name: str) -> None:
        task = asyncio.get_running_loop().create_task(self._logged(work, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _logged(self, work: Coroutine[Any, Any, object], name: str) -> None:
        try:
            await work
        except Exception:
            log.exception("background work failed: %s", name)

    async def close(self, grace: float = 5.0) -> None:
        """Let what is running finish (a modal to open, an answer to send), then cancel."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


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
    crew: CrewPhones  # the crew's own phones, for call backs
    call_backs: CallBacks
    voicemails: Voicemails
    holds: Holds  # jobs waiting while Slack's wiring is broken
    lines: Lines
    metrics: Metrics
    slack: AsyncWebClient
    twilio: TwilioClient
    http: aiohttp.ClientSession  # for fetching MMS media from Twilio
    # For webhook receivers: no cookie jar (a receiver's cookies are not ours to send back).
    webhook_http: aiohttp.ClientSession
    clock: Callable[[], float] = field(default=time.time)
    background: Background = field(default_factory=Background)  # after Slack's ack


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
        crew=CrewPhones(redis, keys),
        call_backs=CallBacks(redis, keys),
        voicemails=Voicemails(redis, keys),
        holds=Holds(redis, keys),
        lines=Lines.from_settings(settings, line_config),
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
        await services.background.close()
        await http.close()
        await webhook_http.close()
        await slack_session.close()
        await twilio_http.close()
        await redis.aclose()
