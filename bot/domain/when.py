"""Read "until" times the crew types: "monday 8am", "2026-12-01 08:00", "5pm", "tomorrow". Pure.

Times are wall-clock times in the business's time zone. A time without a day is the next time
the clock shows it (today if still ahead, else tomorrow); a weekday is the next such day (a week
ahead if that time today has passed); a day without a time means its start (00:00).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

EXAMPLES = '"until monday 8am", "until 2026-12-01 08:00", "until 5pm", "for 3 days"'
_WEEKDAYS = {
    **{n: i for i, n in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    **{
        n: i
        for i, n in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
    "tues": 1,
    "weds": 2,
    "thur": 3,
    "thurs": 3,
}
_TIME = re.compile(r"(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ampm>am|pm)?")
_DATE = re.compile(r"(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})")
_FOR = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>h|hours?|d|days?|w|weeks?)")


class WhenError(ValueError):
    """Unreadable or past; the message says why and shows examples."""


def parse_until(text: str, now: datetime) -> datetime:
    """`text` after "until" (or "for N hours/days"), relative to `now` (aware, business zone)."""
    words = " ".join(text.lower().replace(",", " ").replace(" at ", " ").split())
    if not words:
        raise WhenError(f"say until when, e.g. {EXAMPLES}")
    if words.startswith("for "):
        match = _FOR.fullmatch(words[4:])
        if match is None:
            raise WhenError(f'could not read "{text}": try e.g. {EXAMPLES}')
        unit = match["unit"][0]
        hours = float(match["n"]) * {"h": 1, "d": 24, "w": 168}[unit]
        return now + timedelta(hours=hours)
    words = words.removeprefix("until ").strip()
    day_word, _, time_word = words.partition(" ")
    day: date | None = _day(day_word, now)
    if day is None:
        day_word, time_word = "", words  # no day named: only a time
        if not _TIME.fullmatch(words.replace(" ", "")):
            raise WhenError(f'could not read "{text}": try e.g. {EXAMPLES}')
    at = _time(time_word) if time_word else None
    if day is None and at is None:
        raise WhenError(f'could not read "{text}": try e.g. {EXAMPLES}')
    if day is None:
        assert at is not None
        day = now.date()
        if datetime.combine(day, at, tzinfo=now.tzinfo) <= now:
            day += timedelta(days=1)
    elif day_word in _WEEKDAYS and datetime.combine(day, at or time(), tzinfo=now.tzinfo) <= now:
        day += timedelta(days=7)  # "monday 8am" said on a Monday at noon: next week
    result = datetime.combine(day, at or time(), tzinfo=now.tzinfo)
    if result <= now:
        raise WhenError(f'"{text}" is already past')
    return result


def _day(word: str, now: datetime) -> date | None:
    today = now.date()
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    if word in _WEEKDAYS:
        return today + timedelta(days=(_WEEKDAYS[word] - today.weekday()) % 7)
    match = _DATE.fullmatch(word)
    if match:
        try:
            return date(int(match["y"]), int(match["mo"]), int(match["d"]))
        except ValueError:
            raise WhenError(f'"{word}" is not a date') from None
    return None


def _time(word: str) -> time:
    match = _TIME.fullmatch(word.replace(" ", ""))
    bad = WhenError(f'"{word}" is not a time (write e.g. 8am, 5:30pm or 17:00)')
    if match is None or (match["m"] is None and match["ampm"] is None):
        raise bad
    hour, minute, ampm = int(match["h"]), int(match["m"] or 0), match["ampm"]
    if minute > 59:
        raise bad
    if ampm:
        if not 1 <= hour <= 12:
            raise bad
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    elif hour > 23:
        raise bad
    return time(hour, minute)


def describe(moment: datetime) -> str:
    """'Mon Nov 30, 8:00 AM EST'"""
    return moment.strftime("%a %b %-d, %-I:%M %p %Z")
