"""Case 5: the service's Redis (our own, append-only file on) stops and starts again mid-run.
/healthz says 503 while it is down, webhooks answer 503 (retryable) instead of acknowledging
what they could not store, and the processes reconnect by themselves: nothing acknowledged is
lost, nothing is sent twice."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot import local_redis
from storage import connection as redis_client
from tests.faults.cluster import Cluster
from tests.faults.driver import Driver
from tests.faults.report import record
from tests.faults.scenario import Scenario
from tests.standins import SlackStandIn, TwilioStandIn
from tests.waiting import wait_until


class OwnRedis:
    """A redis-server of this test's own (never the shared one at 6379), AOF on."""

    def __init__(self) -> None:
        self.port = local_redis.free_port()
        self.data = Path(tempfile.mkdtemp(prefix="textback-faults-redis-"))
        self.process = local_redis.start(self.port, self.data, persist=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        # SIGTERM: Redis flushes the append-only file and exits, as on a planned restart.
        self.process.terminate()
        self.process.wait(timeout=10)

    def start(self) -> None:
        self.process = local_redis.start(self.port, self.data, persist=True)


@pytest.fixture
async def own_redis() -> AsyncIterator[OwnRedis]:
    server = OwnRedis()
    yield server
    if server.process.poll() is None:
        server.stop()


async def _health(base: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(base + "/healthz") as response:
        return response.status


async def test_redis_restart_mid_run_loses_nothing_acknowledged(
    own_redis: OwnRedis, prefix: str, soak: bool, clean_env: None
) -> None:
    count = 300 if soak else 60
    redis = redis_client.connect(own_redis.url)
    async with (
        SlackStandIn(latency=0.02) as slack,
        TwilioStandIn(latency=0.05) as twilio,
        Cluster(own_redis.url, prefix, slack, twilio) as cluster,
    ):
        await cluster.start_web("web")
        await cluster.start_worker("worker")
        driver = Driver(lambda: cluster.webs, twilio.auth_token)
        scenario = Scenario(count, redis, prefix, slack, twilio)
        try:
            await scenario.prepare(driver)
            burst = asyncio.ensure_future(scenario.burst(driver, rate=count / 6))
            await wait_until(
                lambda: len(twilio.messages) >= count // 4,
                timeout=60,
                message="no texts went out before the restart",
            )
            own_redis.stop()
            down_at = time.monotonic()
            base = cluster.base("web")
            down_health = await wait_until(
                lambda: _health_is(base, 503), timeout=20, message="/healthz never said 503"
            )
            # Down for a while (the planned outage), and long enough that webhooks were refused.
            outage = 20 if soak else 3
            await wait_until(
                lambda: driver.sent.statuses["503"] > 0 and time.monotonic() - down_at > outage,
                timeout=outage + 30,
                message="no webhook was refused while Redis was down",
            )
            refused_while_down = driver.sent.statuses["503"]
            own_redis.start()
            down_for = time.monotonic() - down_at
            # The test's own connection died with the server; the service must manage alone.
            await redis.aclose()
            redis = scenario.redis = redis_client.connect(own_redis.url)
            await wait_until(
                lambda: _health_is(base, 200), timeout=30, message="/healthz never recovered"
            )
            await burst
            await scenario.drain(timeout=120)
        finally:
            await driver.close()
            await redis.aclose()
        figures = scenario.figures(driver.sent)
        figures["Redis down (s)"] = round(down_for, 1)
        figures["/healthz while down"] = down_health
        figures["webhooks answered 503 while down"] = refused_while_down
        record(f"fault case 5: Redis restart with AOF ({count} calls + {count} replies)", figures)
    assert figures["losses"] == 0, cluster.logs()
    assert figures["duplicate SMS"] == 0
    # A post Slack took while Redis was away and that its worker could not record in time (or
    # that another worker took over first) is posted again: at least once. Only posts in
    # flight when Redis went away can repeat.
    assert figures["duplicate Slack posts"] <= 16
    assert figures["texts to opted-out/excluded"] == 0
    assert down_health == 503
    assert set(driver.sent.statuses) <= {"200", "503", "refused"}  # never a 200 it didn't keep


async def _health_is(base: str, status: int) -> int | None:
    return status if await _health(base) == status else None
