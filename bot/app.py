"""The one factory that builds the service: `create_app(settings) -> web.Application`.

`python -m bot serve` and the tests both call it. Resources (Redis, HTTP sessions, the Slack and
Twilio clients, the worker) are opened once in cleanup_ctx and closed once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from redis.exceptions import RedisError
from slack_bolt.async_app import AsyncApp

from bot.outbox.worker import Worker
from bot.services import open_services
from bot.settings import Settings
from handlers import health, intake, media
from handlers.app_keys import SERVICES, TWILIO
from handlers.slack import actions, commands, home, opt_out_action, reactions
from handlers.slack import events as slack_events
from handlers.slack import http as slack_http
from handlers.slack.http import BOLT, SLACK_SIGNATURE, SlackSignature
from handlers.twilio import sms, voice
from handlers.twilio.verify import TwilioVerifier

log = logging.getLogger(__name__)

WORKER = web.AppKey("worker", Worker)
MAX_BODY = 1024 * 1024  # Twilio and Slack bodies are a few KB; anything bigger is not theirs


def create_app(
    settings: Settings, *, run_worker: bool | None = None, clock: Callable[[], float] = time.time
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[webhook_errors])
    app.cleanup_ctx.append(_services(settings, clock))
    if settings.run_worker if run_worker is None else run_worker:
        app.cleanup_ctx.append(_worker)
    voice.register(app)
    sms.register(app)
    health.register(app)
    intake.register(app)
    media.register(app)
    slack_http.register(app)
    return app


@web.middleware
async def webhook_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Redis down: 503 so Twilio and Slack try again, rather than a 200 for what we didn't store."""
    started = time.perf_counter()
    try:
        return await handler(request)
    except RedisError as exc:
        log.error("redis unavailable path=%s error=%s", request.path, type(exc).__name__)
        return web.Response(
            status=503, text="storage unavailable, retry", headers={"Retry-After": "5"}
        )
    finally:
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "unmatched"
        if SERVICES in request.app:
            request.app[SERVICES].metrics.webhook_seconds.labels(name).observe(
                time.perf_counter() - started
            )


def _services(
    settings: Settings, clock: Callable[[], float]
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        async with open_services(settings, clock) as services:
            app[SERVICES] = services
            app[TWILIO] = TwilioVerifier(settings)
            bolt = AsyncApp(
                client=services.slack,
                logger=_bolt_logger(),
                signing_secret=settings.slack_signing_secret.get_secret_value(),
                # Run our listener before answering, so a 200 means the reply is stored.
                process_before_response=True,
            )
            # Before slack_events: its catch-all answers any event no earlier listener took.
            reactions.register(bolt, services)
            home.register(bolt, services)
            actions.register(bolt, services)
            slack_events.register(bolt, services)
            commands.register(bolt, services)
            opt_out_action.register(bolt, services)
            app[BOLT] = bolt
            secret = settings.slack_signing_secret.get_secret_value()
            app[SLACK_SIGNATURE] = SlackSignature(secret)
            yield

    return context


def _bolt_logger() -> logging.Logger:
    """Bolt warns that SLACK_BOT_TOKEN is unused when we hand it our client: true and harmless."""
    logger = logging.getLogger("bot.slack_bolt")
    if not logger.filters:
        logger.addFilter(lambda record: "will be unused" not in record.getMessage())
    return logger


async def _worker(app: web.Application) -> AsyncIterator[None]:
    worker = Worker(app[SERVICES])
    app[WORKER] = worker
    task = asyncio.create_task(worker.run(), name="outbox-worker")
    try:
        yield
    finally:
        await worker.shutdown(task)
