"""Case 7: Slack refuses the token (revoked) mid-burst, for a while, then it is fixed. Posts are
held, not failed and not retried to death; texts keep going out on time; once a check finds the
token working, everything held is delivered, each thread in order; the owner gets one text
when it broke and one when it came back."""

from __future__ import annotations

import statistics
import time

from redis.asyncio import Redis

from storage.holds import Holds
from storage.outbox import Outbox
from tests.faults.cluster import BUSINESS_NUMBER, Cluster
from tests.faults.driver import Driver
from tests.faults.report import record
from tests.faults.scenario import Scenario
from tests.faults.test_slack_down import _out_of_order
from tests.standins import SlackStandIn, TwilioStandIn
from tests.waiting import wait_until

OWNER = "+12025550177"


async def test_posts_held_while_slack_refuses_the_token_arrive_in_order_once_it_works(
    redis_url: str, prefix: str, fault_redis: Redis, soak: bool, clean_env: None
) -> None:
    # soak: the real minute between checks, and minutes of refusal
    count, broken_for, recheck = (300, 180.0, "60") if soak else (30, 6.0, "2")
    async with (
        SlackStandIn(latency=0.02) as slack,
        TwilioStandIn(latency=0.05) as twilio,
        Cluster(
            redis_url,
            prefix,
            slack,
            twilio,
            ALERT_PHONE=OWNER,
            SLACK_RECHECK_SECONDS=recheck,
        ) as cluster,
    ):
        await cluster.start_web("web")
        await cluster.start_worker("worker")
        driver = Driver(lambda: cluster.webs, twilio.auth_token)
        scenario = Scenario(count, fault_redis, prefix, slack, twilio)
        holds = Holds(fault_redis, scenario.keys)
        held_most = 0
        try:
            await scenario.prepare(driver)
            slack.token_error = "token_revoked"
            broke_at = time.monotonic()
            await scenario.burst(driver, rate=count / max(1.0, broken_for / 2), replies=2)

            async def refused_long_enough() -> bool:
                nonlocal held_most
                held_most = max(held_most, sum((await holds.counts()).values()))
                return time.monotonic() - broke_at >= broken_for

            await wait_until(refused_long_enough, timeout=broken_for + 60, interval=0.2)
            alerted_while_broken = list(twilio.messages_to(OWNER))
            calls_while_broken = len(slack.calls_to("chat.postMessage", failed=True))
            slack.token_error = None
            fixed_at = time.monotonic()
            await scenario.drain(timeout=180)
            await wait_until(lambda: len(twilio.messages_to(OWNER)) >= 2, timeout=30)
        finally:
            await driver.close()
        figures = scenario.figures(driver.sent)
        latency = [
            twilio.messages_to(c.phone)[0]["at"] - c.called_at
            for c in scenario.normal
            if twilio.messages_to(c.phone)
        ]
        first_post = min(c.at for c in slack.calls if not c.failed and c.at >= fixed_at)
        outbox = Outbox(fault_redis, scenario.keys)
        given_up = await outbox.given_up_counts()
        dead = await outbox.dead()
        out_of_order = _out_of_order(scenario)
        owner = twilio.messages_to(OWNER)
        figures["Slack refused the token (s)"] = f"{broken_for:g} (checked every {recheck} s)"
        figures["jobs held at most"] = held_most
        figures["posts Slack refused (calls while broken)"] = calls_while_broken
        figures["missed call -> SMS while broken p50 / max (ms)"] = (
            f"{statistics.median(latency) * 1000:.0f} / {max(latency) * 1000:.0f}"
        )
        figures["first post after the fix (s)"] = round(first_post - fixed_at, 1)
        figures["threads out of order"] = out_of_order
        figures["texts to the owner (down, up)"] = len(owner)
        figures["jobs given up / buried"] = f"{sum(given_up.values())} / {len(dead)}"
        record(
            f"fault case 7: held while Slack was broken ({count} calls, 2 replies each)", figures
        )
    assert figures["losses"] == 0, cluster.logs()
    assert figures["duplicate SMS"] == 0
    assert figures["duplicate Slack posts"] == 0
    assert figures["texts to opted-out/excluded"] == 0
    assert len(latency) == len(scenario.normal)  # every caller was texted while Slack refused
    assert held_most > 0 and out_of_order == 0
    # Held jobs don't ask Slack again: only each job's first try, before it knew, was refused.
    assert calls_while_broken <= count * 3
    assert given_up == {} and dead == []
    assert len(alerted_while_broken) == 1 and len(owner) == 2
    assert [m["From"] for m in owner] == [BUSINESS_NUMBER, BUSINESS_NUMBER]
    assert owner[0]["Body"].startswith("textback: Slack is refusing posts (token revoked).")
    assert owner[1]["Body"].startswith("textback: Slack is taking posts again.")
