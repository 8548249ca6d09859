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
from handlers import health, intake, media, slack
from handlers.access_log import RedactingAccessLogger
from handlers.app_keys import SERVICES
from handlers.slack import http as slack_http
from handlers.slack import roles as slack_roles
from handlers.slack.http import BOLT, SLACK_SIGNATURE, SlackSignature
from handlers.twilio import create_subapp as twilio_webhooks

log = logging.getLogger(__name__)

WORKER = web.AppKey("worker", Worker)
# The access log `serve` writes: intake tokens redacted (handlers/access_log.py).
ACCESS_LOGGER = RedactingAccessLogger
MAX_BODY = 1024 * 1024  # Twilio and Slack bodies are a few KB; anything bigger is not theirs


# Every route outside /twilio; the Twilio webhooks' own table is in handlers/twilio/__init__.py.
ROUTES = (
    web.post("/slack/events", slack_http.slack_endpoint),
    web.get("/healthz", health.healthz),
    web.get("/metrics", health.metrics),
    web.get("/i/{token}", intake.show),
    web.post("/i/{token}", intake.submit),
    web.get("/media/{token}", media.media),
)


def create_app(
    settings: Settings, *, run_worker: bool | None = None, clock: Callable[[], float] = time.time
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[webhook_errors])
    app.cleanup_ctx.append(_services(settings, clock))
    if settings.metrics_port is not None:
        app.cleanup_ctx.append(_metrics_listener)
    if settings.run_worker if run_worker is None else run_worker:
        app.cleanup_ctx.append(_worker)
    app.add_subapp("/twilio", twilio_webhooks(settings))
    app.add_routes(ROUTES)
    return app


@web.middleware
async def webhook_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Redis down: 503 so Twilio and Slack try again, rather than a 200 for what we didn't store.

    aiohttp runs it around the /twilio sub-app's routes too (outside their signature check); the
    timing is labelled with the route's full path, /twilio/voice and not /voice."""
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
            bolt = AsyncApp(
                client=services.slack,
                logger=_bolt_logger(),
                signing_secret=settings.slack_signing_secret.get_secret_value(),
                # Run our listener before answering, so a 200 means the reply is stored.
                process_before_response=True,
            )
            slack.register(bolt, services)
            app[BOLT] = bolt
            secret = settings.slack_signing_secret.get_secret_value()
            app[SLACK_SIGNATURE] = SlackSignature(secret)
            # Who may use /textback, fetched ahead of their commands (handlers/slack/roles.py).
            fresh = asyncio.create_task(slack_roles.keep_fresh(services), name="slack-roles")
            try:
                yield
            finally:
                await _cancelled(fresh)

    return context


async def _cancelled(task: asyncio.Task[None]) -> None:
    """Cancel `task` and wait for it to end, cancelling again while it hasn't: a cancel can be
    lost inside a library's await (redis-py's pipeline, under Python 3.11, when it lands as the
    reply arrives), and the roles loop would then sleep its 10 minutes with the app half shut."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)


def _bolt_logger() -> logging.Logger:
    """Bolt warns that SLACK_BOT_TOKEN is unused when we hand it our client: true and harmless."""
    logger = logging.getLogger("bot.slack_bolt")
    if not logger.filters:
        logger.addFilter(lambda record: "will be unused" not in record.getMessage())
    return logger


async def _metrics_listener(app: web.Application) -> AsyncIterator[None]:
    """/metrics on METRICS_HOST:METRICS_PORT, apart from the public port."""
    services = app[SERVICES]
    settings = services.settings
    private = web.Application()
    private[SERVICES] = services
    private.add_routes([web.get("/metrics", health.private_metrics)])
    runner = web.AppRunner(private, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.metrics_host, settings.metrics_port).start()
    log.info("metrics served on %s:%s", settings.metrics_host, settings.metrics_port)
    try:
        yield
    finally:
        await runner.cleanup()


async def _worker(app: web.Application) -> AsyncIterator[None]:
    worker = Worker(app[SERVICES])
    app[WORKER] = worker
    task = asyncio.create_task(worker.run(), name="outbox-worker")
    try:
        yield
    finally:
        await worker.shutdown(task)
