"""Nobody answered: reminders in the thread at the SLA and at twice it, stopped by a human reply."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.hours import BusinessHours
from bot.domain.reminders import due_at, schedule
from tests.conftest import Clock, Harness, start_harness
from tests.lead_helpers import click, open_lead, wait_state
from tests.standins import SlackStandIn, TwilioStandIn
from tests.waiting import wait_until

NY = ZoneInfo("America/New_York")
OTHER_CALLER = "+12125550142"
WEEKDAYS = BusinessHours.parse("Mon-Fri 08:00-17:00")


def reminders_in(harness: Harness, ts: str) -> list[str]:
    return [p["text"] for p in harness.slack.replies(ts) if ":alarm_clock:" in p["text"]]


async def pending(harness: Harness) -> int:
    return int(await harness.services.redis.zcard(harness.services.keys.reminders()))


async def test_unanswered_text_reminds_once_then_at_twice_the_time_and_never_again(
    harness: Harness,
) -> None:
    ts = await open_lead(harness)
    await harness.caller_text("Are you there?")
    await harness.drained()
    assert await pending(harness) == 2

    harness.clock.advance(10 * 60 + 1)
    first = await wait_until(lambda: reminders_in(harness, ts), timeout=15)
    assert len(first) == 1 and "<!here>" in first[0] and "10 business minutes" in first[0]

    harness.clock.advance(10 * 60)
    both = await wait_until(
        lambda: len(reminders_in(harness, ts)) == 2 and reminders_in(harness, ts), timeout=15
    )
    assert "20 business minutes" in both[1]

    # Nothing is left to fire: both reminders were taken off the schedule.
    await wait_until(no_reminders_left(harness), timeout=15)
    harness.clock.advance(3 * 3600)
    await harness.drained()
    assert len(reminders_in(harness, ts)) == 2


async def test_reminder_mentions_the_claimer(harness: Harness) -> None:
    ts = await open_lead(harness)
    await click(harness, ts, "lead_claim")
    await wait_state(harness, ts, "Claimed by")
    await harness.caller_text("Hello?")
    await harness.drained()

    harness.clock.advance(11 * 60)

    reminder = await wait_until(lambda: reminders_in(harness, ts), timeout=15)
    assert "<@U0CREW>" in reminder[0] and "<!here>" not in reminder[0]


async def test_human_reply_stops_the_reminders(harness: Harness) -> None:
    answered = await open_lead(harness)
    ignored = await open_lead(harness, caller=OTHER_CALLER)
    await harness.caller_text("Can you come today?")
    await harness.caller_text("Anyone?", caller=OTHER_CALLER)
    await harness.drained()
    await harness.crew_reply(answered, "Yes, at 3")
    await harness.drained()

    harness.clock.advance(25 * 60)

    # The ignored caller's thread gets both reminders: the loop ran past both due times.
    await wait_until(lambda: len(reminders_in(harness, ignored)) == 2, timeout=15)
    await wait_until(no_reminders_left(harness), timeout=15)
    await harness.drained()
    assert reminders_in(harness, answered) == []


async def test_internal_note_does_not_stop_the_clock(harness: Harness) -> None:
    """A `//` note is the crew talking to itself; the caller still waits for an answer."""
    ts = await open_lead(harness)
    await harness.caller_text("Hi?")
    await harness.drained()
    await harness.crew_reply(ts, "// I'll call him after lunch")

    harness.clock.advance(11 * 60)

    assert await wait_until(lambda: reminders_in(harness, ts), timeout=15)


async def test_booking_the_lead_stops_the_reminders(harness: Harness) -> None:
    ts = await open_lead(harness)
    await harness.caller_text("Book me in")
    await harness.drained()
    await click(harness, ts, "lead_book")
    await wait_state(harness, ts, "Booked")

    assert await pending(harness) == 0


async def test_reminders_survive_a_restart_because_they_live_in_redis(
    harness: Harness,
    redis_url: str,
    key_prefix: str,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    clock: Clock,
) -> None:
    ts = await open_lead(harness)
    await harness.caller_text("Hello?")
    await harness.drained()
    await harness.client.close()  # the process goes away with its memory

    restarted = await start_harness(redis_url, key_prefix, slack, twilio, clock)
    try:
        clock.advance(11 * 60)
        reminder = await wait_until(lambda: reminders_in(restarted, ts), timeout=15)
    finally:
        await restarted.client.close()
    assert len(reminder) == 1


def no_reminders_left(harness: Harness) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await pending(harness) == 0

    return check


# --- the due time, in business minutes (pure) --------------------------------------------------


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=NY).timestamp()


def local(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, NY).strftime("%a %H:%M")


def test_due_during_business_hours_is_ten_minutes_later() -> None:
    assert local(due_at(at("2026-11-23 10:00"), 10, WEEKDAYS, NY)) == "Mon 10:10"


def test_after_hours_the_clock_starts_at_the_next_opening() -> None:
    assert local(due_at(at("2026-11-21 13:00"), 10, WEEKDAYS, NY)) == "Mon 08:10"  # Saturday


def test_closing_time_pauses_the_clock_until_morning() -> None:
    friday = at("2026-11-27 16:55")
    assert [local(t) for t in schedule(friday, 10, WEEKDAYS, NY)] == ["Mon 08:05", "Mon 08:15"]
