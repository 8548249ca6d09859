"""Case 6: SIGTERM to a server (with its worker) and to a worker in the middle of a burst.
Requests in flight are answered, unacknowledged jobs stay queued for the next worker, and each
process is gone within 10 s."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from tests.faults.cluster import Cluster
from tests.faults.driver import Driver
from tests.faults.report import record
from tests.faults.scenario import Scenario
from tests.standins import SlackStandIn, TwilioStandIn
from tests.waiting import wait_until


async def test_sigterm_mid_burst_finishes_in_flight_work_and_exits_quickly(
    redis_url: str, prefix: str, fault_redis: Redis, soak: bool, clean_env: None
) -> None:
    count = 300 if soak else 60
    async with (
        SlackStandIn(latency=0.05) as slack,
        TwilioStandIn(latency=0.1) as twilio,
        Cluster(redis_url, prefix, slack, twilio) as cluster,
    ):
        await cluster.start_web("web-with-worker", RUN_WORKER="true")
        await cluster.start_web("web")
        await cluster.start_worker("worker")
        driver = Driver(lambda: cluster.webs, twilio.auth_token, keep_alive=False)
        scenario = Scenario(count, fault_redis, prefix, slack, twilio)
        try:
            await scenario.prepare(driver)
            burst = asyncio.ensure_future(scenario.burst(driver, rate=count / 5))
            await wait_until(
                lambda: len(twilio.messages) >= count // 3,
                timeout=60,
                message="no texts went out before the SIGTERM",
            )
            in_flight = len(twilio.messages)
            # Both at once, in threads: each waits for its own process to exit.
            web_exit, worker_exit = await asyncio.gather(
                asyncio.to_thread(cluster.terminate, "web-with-worker"),
                asyncio.to_thread(cluster.terminate, "worker"),
            )
            codes = {n: cluster.procs[n].process.returncode for n in ("web-with-worker", "worker")}
            await cluster.start_worker("next-worker")
            await burst
            await scenario.drain(timeout=120)
        finally:
            await driver.close()
        figures = scenario.figures(driver.sent)
        figures["texts out when SIGTERM was sent"] = in_flight
        figures["server (with worker) exit after SIGTERM (s)"] = round(web_exit, 1)
        figures["worker exit after SIGTERM (s)"] = round(worker_exit, 1)
        # A connection the stopping server had accepted but not yet read a request from is
        # closed by aiohttp (its handlers already running get up to 60 s): the sender retries.
        figures["connections closed before a request was read"] = driver.sent.statuses["cut off"]
        figures["exit codes"] = " ".join(f"{n}:{c}" for n, c in codes.items())
        record(f"fault case 6: SIGTERM mid-burst ({count} calls + {count} replies)", figures)
    assert figures["losses"] == 0, cluster.logs()
    assert figures["duplicate SMS"] == 0
    assert figures["duplicate Slack posts"] == 0
    assert figures["texts to opted-out/excluded"] == 0
    assert codes == {"web-with-worker": 0, "worker": 0}  # a clean exit, not a kill after timeout
