"""Closed days: holidays and shutdowns, whole calendar days on the line's own clock. Pure.

Written "2026-12-25" or "2026-12-24..2026-12-26" (both days included), in LINES_FILE's `closed`
list or with `/textback hours closed`. On a closed day every missed call gets the after-hours
text and a caller's waiting text counts no business minutes (BusinessHours.closed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

MAX_DAYS = 366  # one entry covers at most a year: a typo like 2062 should not close decades
EXAMPLE = "2026-12-24..2026-12-26"
_RANGE = re.compile(r"(\d{4}-\d{1,2}-\d{1,2})(?:\s*(?:\.\.|–|—)\s*(\d{4}-\d{1,2}-\d{1,2}))?")


class ClosedDaysError(ValueError):
    """A date or range that cannot be read; the message says why and shows the form."""


@dataclass(frozen=True)
class ClosedDays:
    first: date
    last: date
    note: str = ""
    from_file: bool = False  # LINES_FILE's: Slack can't remove it

    @property
    def key(self) -> str:
        """The stored spelling: "2026-12-25" or "2026-12-24..2026-12-26"."""
        return key(self.first, self.last)

    def covers(self, day: date) -> bool:
        return self.first <= day <= self.last

    def overlaps(self, first: date, last: date) -> bool:
        return self.first <= last and first <= self.last

    def describe(self) -> str:
        """ "Thu Dec 24 – Sat Dec 26, 2026 (Christmas)" """
        if self.first == self.last:
            shown = f"{self.first:%a %b} {self.first.day}, {self.first.year}"
        else:
            end = f"{self.last:%a %b} {self.last.day}, {self.last.year}"
            same_year = self.first.year == self.last.year
            start = f"{self.first:%a %b} {self.first.day}" + (
                "" if same_year else f", {self.first.year}"
            )
            shown = f"{start} – {end}"
        return shown + (f" ({self.note})" if self.note else "")


def key(first: date, last: date) -> str:
    return first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"


def parse_range(text: str) -> tuple[date, date]:
    """ "2026-12-25" or "2026-12-24..2026-12-26" -> (first, last). Raises ClosedDaysError."""
    match = _RANGE.fullmatch(text.strip())
    if match is None:
        raise ClosedDaysError(
            f'"{text.strip()}" is not a date or range (write e.g. 2026-12-25 or {EXAMPLE})'
        )
    first = _date(match.group(1))
    last = _date(match.group(2)) if match.group(2) else first
    if last < first:
        raise ClosedDaysError(f'"{text.strip()}" ends before it starts')
    if (last - first).days >= MAX_DAYS:
        raise ClosedDaysError(f'"{text.strip()}" is longer than {MAX_DAYS} days')
    return first, last


def parse_entry(text: str) -> ClosedDays:
    """ "2026-12-24..2026-12-26 Christmas" -> the days and the note (the words after them)."""
    words = text.strip()
    match = _RANGE.match(words)
    rest = words[match.end() :] if match else ""
    if match is None or (rest and not rest[0].isspace()):
        shown = words.split()[0] if words else ""
        raise ClosedDaysError(
            f'"{shown}" is not a date or range (write e.g. 2026-12-25 or {EXAMPLE})'
        )
    first, last = parse_range(match.group(0))
    return ClosedDays(first, last, " ".join(rest.split()))


def upcoming(entries: tuple[ClosedDays, ...], today: date) -> list[ClosedDays]:
    """Entries not over yet, soonest first."""
    return sorted((e for e in entries if e.last >= today), key=lambda e: (e.first, e.last))


def ranges(entries: tuple[ClosedDays, ...]) -> tuple[tuple[date, date], ...]:
    """What BusinessHours needs: the date ranges alone."""
    return tuple(sorted({(e.first, e.last) for e in entries}))


def _date(text: str) -> date:
    year, month, day = (int(part) for part in text.split("-"))
    try:
        return date(year, month, day)
    except ValueError:
        raise ClosedDaysError(f'"{text}" is not a date') from None
