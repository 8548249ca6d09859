"""Business hours: parse "Mon-Fri 08:00-17:00; Sat 09:00-12:00", ask if open, find the next opening.

Everything works on wall-clock time in the business's own time zone, so "08:00" means 08:00 on
the office clock whatever the UTC offset is that day. Closed days (holidays, bot/domain/
closed_days.py) close whole calendar days on that clock, whatever the weekly hours say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

EXAMPLE = "Mon-Fri 08:00-17:00; Sat 09:00-12:00"
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MINUTES_PER_DAY = 24 * 60

_DAY_ALIASES = {
    **{name.lower(): i for i, name in enumerate(DAY_NAMES)},
    **{
        full: i
        for i, full in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
    "tues": 1,
    "weds": 2,
    "thur": 3,
    "thurs": 3,
}
_DAY_GROUPS = {
    "daily": tuple(range(7)),
    "every day": tuple(range(7)),
    "everyday": tuple(range(7)),
    "weekdays": (0, 1, 2, 3, 4),
    "weekends": (5, 6),
}
_ALL_DAY = ("24h", "24 hours", "24hrs")
_TIME = re.compile(r"(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ampm>am|pm)?")

# One day's opening ranges as (start, end) minutes after that day's midnight. start < 1440;
# end > start and may pass 1440, which means open past midnight into the next day.
Ranges = tuple[tuple[int, int], ...]


class HoursError(ValueError):
    """Business hours text that cannot be read; the message says why and shows the expected form."""


@dataclass(frozen=True)
class BusinessHours:
    # Index 0 is Monday, matching datetime.weekday().
    days: tuple[Ranges, ...] = ((),) * 7
    # Closed days: (first, last) calendar dates, both included, closed all day.
    closed: tuple[tuple[date, date], ...] = ()

    @classmethod
    def parse(cls, text: str) -> BusinessHours:
        try:
            return cls(_parse(text))
        except _Unreadable as exc:
            raise HoursError(f'could not read "{text}": {exc}. Expected e.g. "{EXAMPLE}"') from None

    def closed_on(self, day: date) -> bool:
        return any(first <= day <= last for first, last in self.closed)

    def is_open(self, local: datetime) -> bool:
        """Whether open at `local`'s wall-clock day and time (already in the business's zone)."""
        if self.closed and self.closed_on(local.date()):
            return False
        return self._weekly_open(local)

    def _weekly_open(self, local: datetime) -> bool:
        minute = local.hour * 60 + local.minute
        weekday = local.weekday()
        if any(start <= minute < end for start, end in self.days[weekday]):
            return True
        # A range that ran past midnight yesterday may still be open this morning.
        yesterday = self.days[(weekday - 1) % 7]
        return any(minute < end - MINUTES_PER_DAY for _, end in yesterday)

    def next_open(self, local: datetime) -> datetime | None:
        """The first moment at or after `local` when open: `local` itself if open now."""
        tz = local.tzinfo
        if tz is None:
            raise ValueError("next_open needs a timezone-aware datetime")
        # Each pass skips one run of closed days: the weekly opening it finds is either on an
        # open day or inside a closed run, and the search goes on from the day after that run.
        for _ in range(len(self.closed) + 1):
            found = self._next_weekly_open(local, tz)
            if found is None or not self.closed_on(found.date()):
                return found
            day = found.date()
            while self.closed_on(day):
                day += timedelta(days=1)
            local = datetime.combine(day, time(), tzinfo=tz)
        return None  # unreachable: each pass leaves one closed run behind

    def _next_weekly_open(self, local: datetime, tz: tzinfo) -> datetime | None:
        """next_open by the weekly hours alone."""
        if self._weekly_open(local):
            return local
        if not any(self.days):
            return None
        now = local.astimezone(UTC)
        first: datetime | None = None
        # Closed now, so opening happens either when the clock reaches a range's start or when a
        # DST change jumps the clock into a range. A week and a bit covers every weekly schedule.
        hour = now.replace(minute=0, second=0, microsecond=0)
        for candidate in (*self._starts(local.date(), tz), *_clock_jumps(hour, tz, days=9)):
            if candidate >= now and (first is None or candidate < first):
                if self._weekly_open(candidate.astimezone(tz)):
                    first = candidate
        return None if first is None else first.astimezone(tz)

    def describe(self) -> str:
        if not any(self.days):
            return "closed"
        if len(set(self.days)) == 1:
            return f"Daily {_describe_ranges(self.days[0])}"
        groups: dict[Ranges, list[int]] = {}
        for weekday, ranges in enumerate(self.days):
            if ranges:
                groups.setdefault(ranges, []).append(weekday)
        return "; ".join(
            f"{_describe_days(days)} {_describe_ranges(ranges)}" for ranges, days in groups.items()
        )

    def _starts(self, today: date, tz: tzinfo) -> list[datetime]:
        """Every range start from yesterday to a week ahead, as real UTC instants."""
        instants: list[datetime] = []
        for offset in range(-1, 9):
            day = today + timedelta(days=offset)
            for start, _ in self.days[day.weekday()]:
                wall = datetime.combine(day, time(start // 60, start % 60))
                # Both readings of a time repeated when clocks go back; none of a skipped one.
                for fold in (0, 1):
                    instant = wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)
                    if instant.astimezone(tz).replace(tzinfo=None) == wall:
                        instants.append(instant)
        return instants


class _Unreadable(Exception):
    """Internal: the reason a piece of the text could not be read."""


def parse_days(spec: str) -> list[int]:
    """ "Mon-Fri", "sat,sun", "weekends" -> weekdays (0 is Monday), as the hours read them."""
    try:
        return _parse_days(spec)
    except _Unreadable as exc:
        raise HoursError(str(exc)) from None


def describe_days(days: list[int]) -> str:
    """[0, 1, 2, 3, 4] -> "Mon-Fri", as the hours show them."""
    return _describe_days(days)


def _parse(text: str) -> tuple[Ranges, ...]:
    # One spelling for dashes and "to" so the grammar below only deals with "-".
    normal = re.sub(r"\s+to\s+", "-", text.strip(), flags=re.IGNORECASE)
    normal = normal.replace("–", "-").replace("—", "-")
    week: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    if normal.lower() == "closed":
        return ((),) * 7
    for clause in normal.split(";"):
        clause = clause.strip()
        if not clause:
            continue
        day_part, time_part = _split_clause(clause)
        # Days first, so errors are reported in reading order.
        days = _parse_days(day_part)
        ranges = [_parse_range(piece.strip()) for piece in time_part.split(",")]
        for weekday in days:
            week[weekday].extend(ranges)
    return tuple(_merge(ranges) for ranges in week)


def _split_clause(clause: str) -> tuple[str, str]:
    first_digit = re.search(r"\d", clause)
    if first_digit is None:
        raise _Unreadable(f'no opening times in "{clause}"')
    days, times = clause[: first_digit.start()].strip(), clause[first_digit.start() :].strip()
    if not days:
        raise _Unreadable(f'no days before "{times}"')
    return days, times


def _parse_days(spec: str) -> list[int]:
    group = _DAY_GROUPS.get(" ".join(spec.lower().split()))
    if group is not None:
        return list(group)
    days: list[int] = []
    for item in spec.split(","):
        first, dash, last = (part.strip() for part in item.partition("-"))
        start = _day(first)
        end = _day(last) if dash else start
        # Walk forward through the week so "Fri-Mon" means Fri, Sat, Sun, Mon.
        days.extend((start + i) % 7 for i in range((end - start) % 7 + 1))
    return days


def _day(word: str) -> int:
    if not word:
        raise _Unreadable("a day name is missing")
    try:
        return _DAY_ALIASES[word.lower()]
    except KeyError:
        raise _Unreadable(
            f'"{word}" is not a day (use Mon, Tue, Wed, Thu, Fri, Sat or Sun)'
        ) from None


def _parse_range(piece: str) -> tuple[int, int]:
    if piece.lower() in _ALL_DAY:
        return 0, MINUTES_PER_DAY
    first, dash, last = (part.strip() for part in piece.partition("-"))
    if not dash or not first or not last:
        raise _Unreadable(f'"{piece}" is not a time range like 08:00-17:00')
    start, end = _minutes(first), _minutes(last)
    if start == MINUTES_PER_DAY:
        raise _Unreadable(f'"{piece}" starts at 24:00 (start at 00:00 instead)')
    if end == start:
        raise _Unreadable(f'"{piece}" opens and closes at the same time (write 24h for all day)')
    if end < start:
        end += MINUTES_PER_DAY  # open past midnight; "-00:00" lands exactly on 24:00
    return start, end


def _minutes(word: str) -> int:
    match = _TIME.fullmatch(word.lower())
    bad = _Unreadable(f'"{word}" is not a time (write e.g. 08:00, 17:30, 8am or 5:30pm)')
    if match is None:
        raise bad
    # A bare "8" could mean 8am or 20:00 ("8-5"), so insist on a colon or am/pm.
    if match["m"] is None and match["ampm"] is None:
        hour = int(match["h"])
        twelve = f" or {hour}am or {hour}pm" if 1 <= hour <= 12 else ""
        raise _Unreadable(f'"{word}" needs minutes or am/pm (write {hour:02d}:00{twelve})')
    hour, minute, ampm = int(match["h"]), int(match["m"] or 0), match["ampm"]
    if minute > 59:
        raise bad
    if ampm:
        if not 1 <= hour <= 12:
            raise bad
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    elif hour > 24 or (hour == 24 and minute):
        raise bad
    return hour * 60 + minute


def _merge(ranges: list[tuple[int, int]]) -> Ranges:
    """Sorted, with overlapping or touching ranges joined, so equal schedules compare equal."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged:
            last_start, last_end = merged[-1]
            # Never join past a full day: one range can't say "open 28 hours from Monday 00:00".
            if start <= last_end and max(end, last_end) - last_start <= MINUTES_PER_DAY:
                merged[-1] = (last_start, max(end, last_end))
                continue
        merged.append((start, end))
    return tuple(merged)


def _describe_ranges(ranges: Ranges) -> str:
    return ", ".join(
        "24h" if (start, end) == (0, MINUTES_PER_DAY) else f"{_hhmm(start)}-{_hhmm(end)}"
        for start, end in ranges
    )


def _hhmm(minutes: int) -> str:
    # 24:00 stays 24:00 (closing at midnight); later ends are times on the next day.
    if minutes > MINUTES_PER_DAY:
        minutes -= MINUTES_PER_DAY
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _describe_days(days: list[int]) -> str:
    """[0,1,2,4] -> "Mon-Wed,Fri"; runs may wrap the weekend: [0,5,6] -> "Sat-Mon"."""
    chosen = set(days)
    runs: list[str] = []
    for first in sorted(d for d in chosen if (d - 1) % 7 not in chosen):
        last = first
        while (last + 1) % 7 in chosen:
            last = (last + 1) % 7
        runs.append(DAY_NAMES[first] if first == last else f"{DAY_NAMES[first]}-{DAY_NAMES[last]}")
    return ",".join(runs)


def _clock_jumps(start: datetime, tz: tzinfo, days: int) -> list[datetime]:
    """UTC instants in the next `days` days at which the UTC offset of `tz` changes."""
    jumps: list[datetime] = []
    step = timedelta(hours=1)
    before = start
    # Offsets change at most once an hour in every real zone, so hourly samples find each change.
    for _ in range(days * 24):
        after = before + step
        if before.astimezone(tz).utcoffset() != after.astimezone(tz).utcoffset():
            jumps.append(_first_with_offset_of(before, after, tz))
        before = after
    return jumps


def _first_with_offset_of(before: datetime, after: datetime, tz: tzinfo) -> datetime:
    """Binary search to the second for where the offset switches to `after`'s."""
    target = after.astimezone(tz).utcoffset()
    while after - before > timedelta(seconds=1):
        # Whole seconds: every tz database transition falls on one.
        middle = (before + (after - before) / 2).replace(microsecond=0)
        if middle.astimezone(tz).utcoffset() == target:
            after = middle
        else:
            before = middle
    return after
