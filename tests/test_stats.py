"""Stats: counters kept where things happen, /textback stats as a Block Kit card, Monday digest."""

from __future__ import annotations

import json
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain import stats
from tests.conftest import CHANNEL, Clock, Harness, slash_command, start_harness
from tests.lead_helpers import click, open_lead, wait_state
from tests.standins import SlackStandIn, TwilioStandIn
from tests.waiting import wait_until

NY = ZoneInfo("America/New_York")


def set_time(harness: Harness, text: str) -> None:
    """Move the app's clock to a wall-clock time in New York (it keeps running from there)."""
    target = datetime.fromisoformat(text).replace(tzinfo=NY).timestamp()
    harness.clock.offset = target - time.time()


def card_state(harness: Harness, ts: str) -> str:
    return str(harness.slack.messages[(CHANNEL, ts)].get("text"))


async def conversation(harness: Harness, caller: str, answer_after: float, book: bool) -> None:
    ts = await open_lead(harness, caller=caller)
    await harness.caller_text("Can you come by?", caller=caller)
    await harness.drained()
    harness.clock.advance(answer_after)
    await harness.crew_reply(ts, "Yes, tomorrow 9am")
    await harness.drained()
    await click(harness, ts, "lead_claim")
    await wait_state(harness, ts, "Claimed")
    if book:
        await click(harness, ts, "lead_book")
        await wait_state(harness, ts, "Booked")


@pytest.mark.settings(BUSINESS_HOURS="Mon-Fri 08:00-17:00")
async def test_stats_card_for_a_sample_week(harness: Harness) -> None:
    set_time(harness, "2026-11-16 10:00")  # Monday
    await conversation(harness, "+12025550101", answer_after=240, book=True)
    await open_lead(harness, caller="+12025550102")  # texted, never replies
    await harness.missed_call(caller="+12025550102")  # again, inside the one-text window

    set_time(harness, "2026-11-17 19:00")  # Tuesday, after hours
    await conversation(harness, "+12025550103", answer_after=1800, book=False)

    set_time(harness, "2026-11-18 11:00")  # Wednesday: 0101 calls again, texted again
    await harness.missed_call(caller="+12025550101")
    await harness.missed_call(caller="anonymous")  # hidden caller ID
    await harness.drained()

    set_time(harness, "2026-11-19 09:00")  # Thursday: 0104 texted STOP, then calls
    await harness.caller_text("STOP", caller="+12025550104", OptOutType="STOP")
    await harness.missed_call(caller="+12025550104")
    await harness.drained()

    set_time(harness, "2026-11-20 14:00")  # Friday
    await conversation(harness, "+12025550106", answer_after=720, book=True)

    set_time(harness, "2026-11-21 10:00")  # Saturday, closed
    await open_lead(harness, caller="+12025550107")

    set_time(harness, "2026-11-22 20:00")  # Sunday evening
    response = await slash_command(harness, "stats 7d")
    assert response.status == 200
    card = await response.json()
    print("\nSTATS CARD (sample week):\n" + json.dumps(card, indent=2, ensure_ascii=False))

    blocks = card["blocks"]
    summary = blocks[1]["text"]["text"]
    assert "*Missed calls* 9 · *auto-texts* 6 · *suppressed* 3" in summary
    assert "hidden 1, opted out 1, window 1" in summary
    assert "*Callers replied* 3 (50% of texted)" in summary
    assert "*claimed* 3 · *booked* 2 (67% of replies)" in summary
    assert "median 12 min · p90 30 min" in summary
    assert "*after hours* 22% of calls" in summary
    chart = blocks[2]["text"]["text"]
    assert chart.startswith("```missed calls per day, Nov 16 – Nov 22")
    assert "█" in chart and chart.endswith("MTWTFSS```")


async def test_stats_30d_and_a_wrong_period(harness: Harness) -> None:
    response = await slash_command(harness, "stats 30d")
    card = await response.json()
    assert card["blocks"][0]["text"]["text"] == "Textback · last 30 days"
    assert "*Missed calls* 0" in card["blocks"][1]["text"]["text"]

    wrong = await slash_command(harness, "stats forever")
    assert "Usage: `/textback stats [7d|30d]`" in await wrong.text()


@pytest.mark.settings(WEEKLY_DIGEST=True)
async def test_weekly_digest_posts_once_on_monday_morning_across_processes(
    harness: Harness,
    redis_url: str,
    key_prefix: str,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    clock: Clock,
) -> None:
    set_time(harness, "2026-11-20 10:00")  # Friday: a lead to count
    await open_lead(harness)
    other = await start_harness(redis_url, key_prefix, slack, twilio, clock, weekly_digest=True)
    try:
        set_time(harness, "2026-11-23 08:30")  # Monday morning: both workers look

        def digests() -> list[dict[str, object]]:
            return [p for p in slack.posts if "last week" in str(p.get("text"))]

        found = await wait_until(digests, timeout=15, message="no digest")
        await harness.drained()
        await other.drained()
    finally:
        await other.client.close()
    assert len(digests()) == 1
    assert found[0]["channel"] == CHANNEL and "thread_ts" not in found[0]
    assert "1 missed calls" in str(found[0]["text"])


@pytest.mark.settings(WEEKLY_DIGEST=True)
async def test_no_digest_for_a_quiet_week_or_on_monday_afternoon(harness: Harness) -> None:
    set_time(harness, "2026-11-23 08:30")  # Monday morning, nothing happened last week
    key = harness.services.keys.digest("default", "2026-W48")
    await wait_until(lambda: harness.services.redis.exists(key), timeout=15)
    set_time(harness, "2026-11-30 14:00")  # next Monday, afternoon: too late for a digest
    await open_lead(harness)
    await harness.drained()
    assert [p for p in harness.slack.posts if "last week" in str(p.get("text"))] == []
    assert not await harness.services.redis.exists(
        harness.services.keys.digest("default", "2026-W49")
    )


# --- pure ----------------------------------------------------------------------------------------


def test_percentiles_and_bars() -> None:
    assert stats.percentile([240, 720, 1800], 0.5) == 720
    assert stats.percentile([float(n) for n in range(1, 11)], 0.9) == 9
    assert stats.percentile([], 0.9) is None
    assert stats.bar_chart([0, 1, 2, 4]) == " ▂▄█"


def test_summary_adds_days_and_suppression_reasons() -> None:
    days = [
        stats.Day(date(2026, 11, 16), {"missed": 2, "texted": 1, "suppressed:excluded": 1}, (60,)),
        stats.Day(date(2026, 11, 17), {"missed": 1, "suppressed:excluded": 1}, (180, 120)),
    ]
    summary = stats.summarise(days)
    assert summary.totals["missed"] == 3
    assert summary.suppressed == {"excluded": 2}
    assert summary.median_response == 120
