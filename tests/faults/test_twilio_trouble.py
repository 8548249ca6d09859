"""Case 4: Twilio answers 500, then 20429 (too many requests), for a while; some numbers answer
21610 (opted out at the carrier) and some 21211 (not a valid number). Everything else goes out
once; 21610 is recorded as an opt-out and never retried; 21211 is never retried and the thread
says why."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.domain.line import DEFAULT_LINE
from storage.callers import Callers
from storage.ledger import Ledger
from tests.faults.cluster import Cluster
from tests.faults.driver import Driver
from tests.faults.report import record
from tests.faults.scenario import Caller, Scenario
from tests.standins import SlackStandIn, TwilioStandIn


async def test_twilio_errors_retry_what_may_succeed_and_nothing_else(
    redis_url: str, prefix: str, fault_redis: Redis, soak: bool, clean_env: None
) -> None:
    count, failing, trouble = (300, 10, (30.0, 30.0)) if soak else (40, 3, (3.0, 3.0))
    async with (
        SlackStandIn(latency=0.02) as slack,
        TwilioStandIn(latency=0.05) as twilio,
        Cluster(redis_url, prefix, slack, twilio) as cluster,
    ):
        await cluster.start_web("web")
        await cluster.start_worker("worker")
        driver = Driver(lambda: cluster.webs, twilio.auth_token)
        scenario = Scenario(count + 2 * failing, fault_redis, prefix, slack, twilio)
        carrier_out = scenario.normal[:failing]
        invalid = scenario.normal[failing : 2 * failing]
        for caller in carrier_out:
            caller.kind = "carrier_opt_out"
            twilio.fail_for_number(caller.phone, 21610)
        for caller in invalid:
            caller.kind = "invalid"
            twilio.fail_for_number(
                caller.phone, 21211, message="The 'To' number is not a valid phone number."
            )
        try:
            await scenario.prepare(driver)
            twilio.outages([(500, 20500, trouble[0]), (429, 20429, trouble[1])])
            await scenario.burst(driver, rate=count / sum(trouble))
            await scenario.drain(timeout=180, complete=False)
            drained_at = scenario.drained_at
            # A crew reply to a number the carrier reported opted out: held, not sent.
            before = len(twilio.attempts)
            for caller in carrier_out:
                card = scenario.card_ts(caller)
                assert card, "no lead card for a carrier opt-out"
                await driver.crew_reply(card, "are you still there?")
            await scenario.drain(timeout=60, complete=False)
            after_opt_out = len(twilio.attempts) - before
            scenario.drained_at = drained_at  # the burst's drain, not the crew replies'
        finally:
            await driver.close()
        store, ledger = Callers(fault_redis, scenario.keys), Ledger(fault_redis, scenario.keys)
        opted_out = [c for c in carrier_out if await store.is_opted_out(c.phone, DEFAULT_LINE)]
        ledgered = [c for c in carrier_out if await _carrier_opt_out_in_ledger(ledger, c)]
        noticed = [c for c in invalid if _notice_in_thread(scenario, c, "not a valid phone")]
        refused = [a for a in twilio.attempts if a["code"] in (20500, 20429)]
        figures = scenario.figures(driver.sent)
        figures["Twilio trouble: 500 then 20429 (s)"] = f"{trouble[0]:g} + {trouble[1]:g}"
        figures["sends refused with 500/20429 (retried)"] = len(refused)
        figures["21610 numbers / opt-out recorded / in ledger"] = (
            f"{failing} / {len(opted_out)} / {len(ledgered)}"
        )
        figures["21610 numbers: attempts (1 each = no retry)"] = _attempts(twilio, carrier_out)
        figures["21211 numbers: attempts / thread notices"] = (
            f"{_attempts(twilio, invalid)} / {len(noticed)}"
        )
        figures["sends attempted after a 21610 (crew replies held)"] = after_opt_out
        record(f"fault case 4: Twilio trouble ({count} callers + {2 * failing} failing)", figures)
    assert figures["losses"] == 0, cluster.logs()
    assert figures["duplicate SMS"] == 0
    assert figures["duplicate Slack posts"] == 0
    assert figures["texts to opted-out/excluded"] == 0
    assert all(len(twilio.messages_to(c.phone)) == 1 for c in scenario.normal)
    assert refused  # the trouble did happen
    assert len(opted_out) == len(ledgered) == failing
    assert _attempts(twilio, carrier_out) == failing
    assert _attempts(twilio, invalid) == failing
    assert len(noticed) == failing
    assert after_opt_out == 0


def _attempts(twilio: TwilioStandIn, callers: list[Caller]) -> int:
    """Sends that reached the number's own fault (outage refusals not counted)."""
    phones = {c.phone for c in callers}
    return sum(1 for a in twilio.attempts if a["To"] in phones and a["code"] in (21610, 21211))


async def _carrier_opt_out_in_ledger(ledger: Ledger, caller: Caller) -> bool:
    return any(
        e.event == "opt_out" and e.detail.get("source") == "carrier"
        for e in await ledger.history(caller.phone)
    )


def _notice_in_thread(scenario: Scenario, caller: Caller, words: str) -> bool:
    card = scenario.card_ts(caller)
    return any(
        post.get("thread_ts") == card and words in str(post.get("text", ""))
        for post in scenario.slack.posts
    )
