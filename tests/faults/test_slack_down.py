"""Case 3: Slack answers 500 for a while, then 429 with Retry-After, while calls and replies keep
coming. Texts keep going out on time; every post arrives afterwards, in order in each thread."""

from __future__ import annotations

import statistics

from redis.asyncio import Redis

from tests.faults.cluster import Cluster
from tests.faults.driver import Driver
from tests.faults.report import record
from tests.faults.scenario import Scenario
from tests.standins import SlackStandIn, TwilioStandIn


async def test_slack_outage_delays_posts_in_order_and_never_the_texts(
    redis_url: str, prefix: str, fault_redis: Redis, soak: bool, clean_env: None
) -> None:
    count, down, limited = (300, 60.0, 30.0) if soak else (40, 4.0, 3.0)
    async with (
        SlackStandIn(latency=0.02) as slack,
        TwilioStandIn(latency=0.05) as twilio,
        Cluster(redis_url, prefix, slack, twilio) as cluster,
    ):
        await cluster.start_web("web")
        await cluster.start_worker("worker")  # one worker for both queues: texts must not wait
        driver = Driver(lambda: cluster.webs, twilio.auth_token)
        scenario = Scenario(count, fault_redis, prefix, slack, twilio)
        try:
            await scenario.prepare(driver)
            slack.outages([(500, down), (429, limited)], retry_after=2)
            outage_over = slack.outage_over_at or 0.0
            await scenario.burst(driver, rate=count / (down + limited), replies=2)
            await scenario.drain(timeout=180)
        finally:
            await driver.close()
        during = [c for c in scenario.normal if c.called_at < outage_over]
        latency = [
            twilio.messages_to(c.phone)[0]["at"] - c.called_at
            for c in during
            if twilio.messages_to(c.phone)
        ]
        out_of_order = _out_of_order(scenario)
        failed = [c for c in slack.calls if c.method == "chat.postMessage" and c.failed]
        figures = scenario.figures(driver.sent)
        figures["Slack outage: 500 then 429 (s)"] = f"{down:g} + {limited:g}"
        figures["Slack answers refused (500/429)"] = len(failed)
        figures["callers who called during the outage"] = len(during)
        figures["missed call -> SMS during outage p50 / max (ms)"] = (
            f"{statistics.median(latency) * 1000:.0f} / {max(latency) * 1000:.0f}"
        )
        figures["first post after the outage ended (s)"] = round(
            min(c.at for c in slack.calls if not c.failed and c.at >= outage_over) - outage_over, 1
        )
        figures["threads out of order"] = out_of_order
        record(f"fault case 3: Slack down ({count} calls, 2 replies each)", figures)
    assert figures["losses"] == 0, cluster.logs()
    assert figures["duplicate SMS"] == 0
    assert figures["duplicate Slack posts"] == 0
    assert figures["texts to opted-out/excluded"] == 0
    assert len(latency) == len(during)  # every caller of the outage was texted
    assert failed  # the outage did happen
    assert out_of_order == 0


def _out_of_order(scenario: Scenario) -> int:
    """Callers whose thread does not read card, first reply, second reply."""
    wrong = 0
    for caller in scenario.normal:
        card = scenario.card_ts(caller)
        thread = [
            word
            for post in scenario.slack.posts
            if card and post.get("thread_ts") == card
            for word in str(post.get("text", "")).split()
            if word in caller.replies
        ]
        wrong += thread != caller.replies
    return wrong
