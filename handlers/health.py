"""GET /healthz (200 when Redis answers, 503 otherwise) and GET /metrics (Prometheus).

/healthz stays a liveness check, cheap enough for a load balancer every few seconds.
/healthz?deep=1 also asks Slack (auth.test) and Twilio (our account), and reads what the
outbox holds: jobs held while Slack's wiring is broken, and jobs buried in the last day. It
answers 503 when any of that says something is broken, naming it.

/metrics on the public port answers only a request bearing METRICS_TOKEN (404 without the
setting: the port faces the internet); METRICS_PORT serves it on a listener of its own
(METRICS_HOST, loopback by default) without one.
"""

from __future__ import annotations

import asyncio
import hmac
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from bot import wiring
from bot.domain import slack_wiring
from bot.services import Services
from handlers.app_keys import SERVICES

DEAD_RECENT = 86_400  # seconds: a job buried this recently makes the deep check fail


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        await services.redis.ping()
    except (RedisError, OSError):
        return web.json_response({"ok": False, "redis": "unreachable"}, status=503)
    if request.query.get("deep", "0") in ("", "0", "false"):
        return web.json_response({"ok": True})
    report = await _deep(services)
    return web.json_response(report, status=200 if report["ok"] else 503)


async def _deep(services: Services) -> dict[str, Any]:
    """Slack, Twilio and the outbox, each with what is wrong; ok only when nothing is."""
    slack_check = asyncio.create_task(wiring.slack_token(services.slack))
    twilio_check = asyncio.create_task(
        wiring.twilio_account(services.twilio, services.settings.twilio_account_sid)
    )
    now = services.clock()
    refusing = await services.holds.broken()
    held = await services.holds.counts()
    dead = await services.outbox.dead_counts()
    recent = [d for d in await services.outbox.dead(limit=1000) if d.at >= now - DEAD_RECENT]
    slack_error, twilio = await slack_check, await twilio_check
    report: dict[str, Any] = {
        "redis": "ok",
        "slack": slack_error or "ok",
        "slack_refusing": [
            {
                "scope": b.scope,
                "error": b.error,
                "in_words": slack_wiring.in_words(b.error),
                "since": datetime.fromtimestamp(b.since, UTC).isoformat(timespec="seconds"),
            }
            for b in refusing
        ],
        "twilio": twilio,
        "held": held,
        "dead": dead,
        "dead_last_day": len(recent),
    }
    problems = [
        *([f"slack: {slack_error}"] if slack_error else []),
        *(f"slack refuses {b.scope}: {slack_wiring.in_words(b.error)}" for b in refusing),
        *([f"twilio: {twilio}"] if twilio != "ok" else []),
        *([f"{sum(held.values())} jobs held"] if held else []),
        *(
            [f"{len(recent)} jobs buried in the last day (python -m bot outbox dead)"]
            if recent
            else []
        ),
    ]
    return {"ok": not problems, "problems": problems, **report}


async def metrics(request: web.Request) -> web.Response:
    """The public port's /metrics: only with METRICS_TOKEN, and only for a request bearing it."""
    services = request.app[SERVICES]
    token = services.settings.metrics_token
    if token is None:
        raise web.HTTPNotFound(text="metrics are not served on this port")
    given = request.headers.get("Authorization", "")
    expected = f"Bearer {token.get_secret_value()}"
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise web.HTTPUnauthorized(
            text="metrics need METRICS_TOKEN as a bearer token",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return await _exposition(services)


async def private_metrics(request: web.Request) -> web.Response:
    """/metrics on METRICS_HOST:METRICS_PORT, a listener only where the operator put it."""
    return await _exposition(request.app[SERVICES])


async def _exposition(services: Services) -> web.Response:
    counts = services.metrics.outbox_counts
    try:
        counts.held = await services.holds.counts()
        counts.dead = await services.outbox.dead_counts()
        counts.given_up = await services.outbox.given_up_counts()
        # Read here, as it is scraped: an idle worker's loop reads nothing it doesn't need.
        for queue, depth in (await services.outbox.depth()).items():
            services.metrics.outbox_depth.labels(queue).set(depth)
    except (RedisError, OSError):
        pass  # Redis away: the last counts read stand, the rest of the metrics still answer
    body = generate_latest(services.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
