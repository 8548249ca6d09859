"""GET /healthz (200 when Redis answers, 503 otherwise) and GET /metrics (Prometheus).

/metrics on the public port answers only a request bearing METRICS_TOKEN (404 without the
setting: the port faces the internet); METRICS_PORT serves it on a listener of its own
(METRICS_HOST, loopback by default) without one.
"""

from __future__ import annotations

import hmac

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from bot.services import Services
from handlers.app_keys import SERVICES


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        await services.redis.ping()
    except (RedisError, OSError):
        return web.json_response({"ok": False, "redis": "unreachable"}, status=503)
    return web.json_response({"ok": True})


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
    body = generate_latest(services.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
