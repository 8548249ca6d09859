"""Reading "pause until ..." times in the business's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.when import WhenError, describe, parse_until

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 25, 19, 50, tzinfo=NY)  # a Wednesday evening


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("monday 8am", datetime(2026, 11, 30, 8, 0, tzinfo=NY)),
        ("until Monday 8am", datetime(2026, 11, 30, 8, 0, tzinfo=NY)),
        ("2026-12-01 08:00", datetime(2026, 12, 1, 8, 0, tzinfo=NY)),
        ("5pm", datetime(2026, 11, 26, 17, 0, tzinfo=NY)),  # 5pm passed today: tomorrow
        ("9:30 pm", datetime(2026, 11, 25, 21, 30, tzinfo=NY)),  # still ahead today
        ("tomorrow 7am", datetime(2026, 11, 26, 7, 0, tzinfo=NY)),
        ("wed 9am", datetime(2026, 12, 2, 9, 0, tzinfo=NY)),  # today's 9am passed: next week
        ("friday", datetime(2026, 11, 27, 0, 0, tzinfo=NY)),
        ("for 3 days", datetime(2026, 11, 28, 19, 50, tzinfo=NY)),
    ],
)
def test_until_times_are_read_in_the_business_zone(text: str, expected: datetime) -> None:
    assert parse_until(text, NOW) == expected


@pytest.mark.parametrize("text", ["", "whenever", "monday 25:00", "2026-02-30", "13pm", "8"])
def test_unreadable_times_say_why(text: str) -> None:
    with pytest.raises(WhenError):
        parse_until(text, NOW)


def test_a_past_date_is_refused() -> None:
    with pytest.raises(WhenError, match="already past"):
        parse_until("2026-11-01 08:00", NOW)


def test_resume_time_reads_plainly() -> None:
    assert describe(datetime(2026, 11, 30, 8, 0, tzinfo=NY)) == "Mon Nov 30, 8:00 AM EST"
