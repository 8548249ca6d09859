"""A copy of the app whose Redis round trips are counted (tests/redis_counter.py), for
tests/test_round_trips.py and `python -m tests.bench_reply`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from tests.conftest import Harness
from tests.redis_counter import CountingProxy


@contextlib.asynccontextmanager
async def counted_app(harness: Harness) -> AsyncIterator[tuple[Harness, CountingProxy]]:
    """A second copy of the app, without a worker, reaching the harness's Redis (same database,
    same key prefix) through the counting proxy: the webhooks sent to it are counted, while the
    harness's worker performs the jobs they queue. The line's Slack overrides are kept for an
    hour, not a second: the figures are per event on a busy line, where they come from memory."""
    async with CountingProxy(harness.settings.redis_url) as proxy:
        settings = harness.settings.model_copy(update={"redis_url": proxy.url})
        app = create_app(settings, run_worker=False, clock=harness.clock)
        client: TestClient[Any, Any] = TestClient(TestServer(app))
        await client.start_server()
        counted_harness = replace(harness, client=client, settings=settings)
        counted_harness.services.lines.ttl = 3600.0
        try:
            yield counted_harness, proxy
        finally:
            await client.close()
