"""GET /healthz (200 when Redis answers, 503 otherwise) and GET /metrics (Prometheus)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from handlers.app_keys import SERVICES


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        await services.redis.ping()
    except (RedisError, OSError):
        return web.json_response({"ok": False, "redis": "unreachable"}, status=503)
    return web.json_response({"ok": True})


async def metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body = generate_latest(services.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
