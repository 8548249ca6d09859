"""Closed days (holidays): from Slack (`/textback hours closed`) and from LINES_FILE. On a closed
day a missed call gets the after-hours text and a caller's waiting text counts no minutes."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain import closed_days
from bot.domain.closed_days import ClosedDays, ClosedDaysError
from bot.domain.hours import BusinessHours
from bot.domain.reminders import due_at
from bot.lines import LinesError, load
from bot.settings import Settings
from tests.conftest import (
    CALLER,
    CREW_USER,
    Clock,
    Harness,
    new_sid,
    slash_command,
    start_harness,
)
from tests.lead_helpers import open_lead
from tests.standins import SlackStandIn, TwilioStandIn
from tests.waiting import wait_until

NY = ZoneInfo("America/New_York")
WEEKDAYS = BusinessHours.parse("Mon-Fri 08:00-17:00")
admins = pytest.mark.settings(ADMIN_USER_IDS=CREW_USER)


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=NY).timestamp()


def local(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, NY).strftime("%a %b %d %H:%M")


def set_time(harness: Harness, text: str) -> None:
    harness.clock.offset = at(text) - time.time()


async def say(harness: Harness, text: str) -> str:
    response = await slash_command(harness, text)
    assert response.status == 200
    return str(await response.text())


async def auto_text(harness: Harness, caller: str = CALLER) -> str:
    await open_lead(harness, caller=caller)
    [sent] = harness.twilio.messages_to(caller)
    return str(sent["Body"])


@admins
async def test_a_missed_call_on_a_closed_day_gets_the_after_hours_text(harness: Harness) -> None:
    set_time(harness, "2026-12-24 10:00")  # open all day by the hours (Daily 00:00-24:00)
    answer = await say(harness, "hours closed 2026-12-24..2026-12-26 Christmas")
    assert answer.startswith("Saved: closed Thu Dec 24 – Sat Dec 26, 2026 (Christmas)")

    body = await auto_text(harness)

    assert "we're closed" in body
    hours = await say(harness, "hours")
    assert "closed now, opens Sun Dec 27, 12:00 AM" in hours
    assert "closed day today: Thu Dec 24 – Sat Dec 26, 2026 (Christmas)" in hours


@admins
async def test_the_day_after_a_closed_day_gets_the_business_text_again(harness: Harness) -> None:
    set_time(harness, "2026-12-24 10:00")
    await say(harness, "hours closed 2026-12-24..2026-12-26 Christmas")
    set_time(harness, "2026-12-27 10:00")
    assert "we're closed" not in await auto_text(harness)


@pytest.mark.settings(BUSINESS_HOURS="Mon-Fri 08:00-17:00", ADMIN_USER_IDS=CREW_USER)
async def test_reminders_count_no_minutes_on_a_closed_day(harness: Harness) -> None:
    set_time(harness, "2026-12-23 16:55")  # Wednesday, five business minutes left
    closing = await say(harness, "hours closed 2026-12-24..2026-12-25 Christmas")  # Thu, Fri
    assert closing.startswith("Saved")
    ts = await open_lead(harness)
    await harness.caller_text("Can someone come before the holidays?")
    await harness.drained()

    due = await harness.services.redis.zrange(
        harness.services.keys.reminders(), 0, -1, withscores=True
    )
    # Five minutes on Wednesday, the rest after the weekend: not Thursday at 08:05.
    assert [local(score) for _, score in due] == ["Mon Dec 28 08:05", "Mon Dec 28 08:15"]

    set_time(harness, "2026-12-28 08:06")

    def reminders() -> list[str]:
        return [p["text"] for p in harness.slack.replies(ts) if ":alarm_clock:" in p["text"]]

    assert "10 business minutes" in (await wait_until(reminders, timeout=15))[0]


@admins
async def test_closed_days_list_and_remove(harness: Harness) -> None:
    set_time(harness, "2026-12-01 10:00")
    await say(harness, "hours closed 2027-01-01 New Year")
    await say(harness, "hours closed 2026-12-24..2026-12-26 Christmas")
    listed = await say(harness, "hours closed list")
    assert listed.index("Thu Dec 24 – Sat Dec 26, 2026 (Christmas)") < listed.index(
        "Fri Jan 1, 2027 (New Year)"
    )

    removed = await say(harness, "hours closed remove 2026-12-25")
    assert removed == "Removed: Thu Dec 24 – Sat Dec 26, 2026 (Christmas)"
    assert "Christmas" not in await say(harness, "hours closed list")
    assert (
        await say(harness, "hours closed remove 2026-12-25") == "Nothing is closed on 2026-12-25."
    )
    assert "New Year" in await say(harness, "hours closed")


@admins
async def test_bad_or_past_closed_days_are_refused(harness: Harness) -> None:
    set_time(harness, "2026-12-01 10:00")
    assert "is already past" in await say(harness, "hours closed 2026-11-26 Thanksgiving")
    assert '"2026-12-32" is not a date' in await say(harness, "hours closed 2026-12-32")
    assert "ends before it starts" in await say(harness, "hours closed 2026-12-26..2026-12-24")
    assert "is not a date or range" in await say(harness, "hours closed christmas")
    assert "none coming up" in await say(harness, "hours closed list")


async def test_closing_a_day_is_for_admins(harness: Harness) -> None:
    assert (await say(harness, "hours closed 2030-12-25")).startswith("Only admins")
    assert "none coming up" in await say(harness, "hours closed")


# --- LINES_FILE ----------------------------------------------------------------------------------

UPTOWN, DOWNTOWN = "+12025550199", "+12125550177"
LINES = f"""
[[line]]
id = "uptown"
numbers = ["{UPTOWN}"]
name = "Acme Electric Uptown"
channel = "C0UPTOWN01"
closed = ["2026-12-25", "2026-12-31..2027-01-01"]

[[line]]
id = "downtown"
numbers = ["{DOWNTOWN}"]
name = "Acme Electric Downtown"
channel = "C0DOWNTOWN"
"""


async def test_lines_file_closed_days_hold_for_their_line_only(
    clean_env: None,
    redis_url: str,
    key_prefix: str,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    clock: Clock,
    tmp_path: Path,
) -> None:
    path = tmp_path / "lines.toml"
    path.write_text(LINES)
    h = await start_harness(
        redis_url, key_prefix, slack, twilio, clock, lines_file=str(path), admin_user_ids=CREW_USER
    )
    try:
        set_time(h, "2026-12-25 11:00")
        for to, caller in ((UPTOWN, "+12025550131"), (DOWNTOWN, "+12025550132")):
            params = {"CallSid": new_sid("CA"), "From": caller, "To": to}
            params |= {"Direction": "inbound", "DialCallStatus": "no-answer"}
            assert (await h.twilio_post("/twilio/voice/dial-status", params)).status == 200
        await h.drained()
        uptown = twilio.messages_to("+12025550131")[0]["Body"]
        downtown = twilio.messages_to("+12025550132")[0]["Body"]
        assert "we're closed" in uptown and "we're closed" not in downtown

        answer = await say_in(h, "uptown hours closed remove 2026-12-25")
        assert answer == "Fri Dec 25, 2026 is in LINES_FILE: remove it there."
        assert "Thu Dec 31, 2026 – Fri Jan 1, 2027 (LINES_FILE)" in await say_in(
            h, "uptown hours closed"
        )
    finally:
        await h.client.close()


async def say_in(harness: Harness, text: str) -> str:
    response = await slash_command(harness, text)  # a channel no line has: the line is named
    return str(await response.text())


def settings_with(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "lines.toml"
    path.write_text(text)
    values = {
        "public_url": "https://tb.example.test",
        "slack_bot_token": "xoxb-x",
        "slack_signing_secret": "s",
        "twilio_account_sid": "AC" + "0" * 32,
        "twilio_auth_token": "t",
        "lines_file": str(path),
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("closed", "problem"),
    [
        ("5", "closed must be a list"),
        ("[20261225]", "closed[0] must be a string"),
        ('["2026-13-01"]', 'closed[0]: "2026-13-01" is not a date'),
        ('["2026-12-25", "Christmas"]', 'closed[1]: "Christmas" is not a date or range'),
        ('["2026-01-01..2028-01-01"]', "longer than 366 days"),
    ],
)
def test_bad_closed_days_in_the_lines_file_stop_start_up(
    clean_env: None, tmp_path: Path, closed: str, problem: str
) -> None:
    text = LINES.replace('["2026-12-25", "2026-12-31..2027-01-01"]', closed)
    with pytest.raises(LinesError) as error:
        load(settings_with(tmp_path, text))
    assert problem in str(error.value) and '(id "uptown")' in str(error.value)


# --- pure ----------------------------------------------------------------------------------------


def test_closed_days_read_a_date_a_range_and_a_note() -> None:
    entry = closed_days.parse_entry("2026-12-24..2026-12-26   Christmas  Eve to Boxing Day")
    assert (entry.first, entry.last) == (date(2026, 12, 24), date(2026, 12, 26))
    assert entry.note == "Christmas Eve to Boxing Day"
    assert entry.key == "2026-12-24..2026-12-26"
    assert closed_days.parse_entry("2026-12-25").key == "2026-12-25"
    with pytest.raises(ClosedDaysError):
        closed_days.parse_entry("2026-12-25x")


def test_a_closed_day_is_closed_whatever_the_weekly_hours_say() -> None:
    hours = replace(
        BusinessHours.parse("Daily 00:00-24:00"), closed=((date(2026, 12, 25), date(2026, 12, 25)),)
    )
    assert not hours.is_open(datetime(2026, 12, 25, 12, 0, tzinfo=NY))
    assert hours.is_open(datetime(2026, 12, 24, 23, 59, tzinfo=NY))
    assert hours.next_open(datetime(2026, 12, 25, 12, 0, tzinfo=NY)) == datetime(
        2026, 12, 26, 0, 0, tzinfo=NY
    )


def test_next_open_skips_closed_runs_back_to_back_and_across_a_weekend() -> None:
    closed = ClosedDays(date(2026, 12, 24), date(2026, 12, 25))
    new_year = ClosedDays(date(2026, 12, 28), date(2027, 1, 1))  # the whole next week
    hours = replace(WEEKDAYS, closed=closed_days.ranges((closed, new_year)))
    opens = hours.next_open(datetime(2026, 12, 23, 18, 0, tzinfo=NY))
    assert opens is not None and local(opens.timestamp()) == "Mon Jan 04 08:00"


def test_due_at_counts_no_minutes_on_closed_days() -> None:
    hours = replace(WEEKDAYS, closed=((date(2026, 12, 24), date(2026, 12, 25)),))
    assert local(due_at(at("2026-12-23 16:55"), 10, hours, NY)) == "Mon Dec 28 08:05"
    assert local(due_at(at("2026-12-23 16:55"), 10, WEEKDAYS, NY)) == "Thu Dec 24 08:05"
