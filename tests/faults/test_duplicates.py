"""Case 1: every Twilio webhook delivered 2-5 times at once, spread over two server processes;
every Slack event retried (X-Slack-Retry-Num) at the same time as the original. One text per
caller, one post per caller reply, one text per crew reply."""

from __future__ import annotations

import random

from redis.asyncio import Redis

from tests.faults.cluster import Cluster
from tests.faults.driver import Driver
from tests.faults.report import record
from tests.faults.scenario import Scenario
from tests.standins import SlackStandIn, TwilioStandIn


async def test_redelivered_webhooks_and_retried_events_send_and_post_once(
    redis_url: str, prefix: str, fault_redis: Redis, soak: bool, clean_env: None
) -> None:
    count = 300 if soak else 40
    async with (
        SlackStandIn(latency=0.02) as slack,
        TwilioStandIn(latency=0.02) as twilio,
        Cluster(redis_url, prefix, slack, twilio) as cluster,
    ):
        await cluster.start_web("web-a")
        await cluster.start_web("web-b")
        await cluster.start_worker("worker-a")
        await cluster.start_worker("worker-b")
        driver = Driver(lambda: cluster.webs, twilio.auth_token)
        scenario = Scenario(count, fault_redis, prefix, slack, twilio)
        try:
            await scenario.prepare(driver)
            await scenario.burst(driver, rate=count / 3, copies=lambda: random.randint(2, 5))
            await scenario.crew_replies(driver, retries=lambda: random.randint(1, 3))
            await scenario.drain()
        finally:
            await driver.close()
        figures = scenario.figures(driver.sent)
        record(f"fault case 1: duplicate delivery ({count} callers, 2 servers, 2 workers)", figures)
    assert figures["losses"] == 0, cluster.logs()
    assert figures["duplicate SMS"] == 0
    assert figures["duplicate Slack posts"] == 0
    assert figures["texts to opted-out/excluded"] == 0
    assert figures["SMS sent"] == 2 * count  # the auto-text and the crew's reply, nothing else
