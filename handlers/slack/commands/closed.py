"""`/textback hours closed …`: closed days (holidays), per line, on the line's own calendar.

On a closed day every missed call gets the after-hours text and a caller's waiting text counts
no business minutes toward a reminder. LINES_FILE's `closed` days show here too; only the file
removes them.
"""

from __future__ import annotations

from datetime import date, datetime

from bot.domain import closed_days
from bot.domain.closed_days import ClosedDaysError
from bot.domain.line import Line
from bot.domain.slack_text import escape
from bot.services import Services
from handlers.slack.commands.admin import refusal
from handlers.slack.commands.invocation import Invocation

USAGE = (
    f"Usage: `/textback hours closed {closed_days.EXAMPLE} Christmas` (a date or a range, both "
    "days included, and an optional note), `/textback hours closed list`, "
    "`/textback hours closed remove <date or range>`."
)
SHOWN = 15  # closed-day entries listed; the rest are counted


def today(services: Services, line: Line) -> date:
    return datetime.fromtimestamp(services.clock(), line.timezone).date()


def describe_closed(services: Services, line: Line) -> str:
    """Upcoming closed days, one line each, or that there are none."""
    coming = closed_days.upcoming(line.closed, today(services, line))
    if not coming:
        return "Closed days: none coming up. Add one with `/textback hours closed <date> [note]`."
    rows = [
        f"• {escape(entry.describe())}" + (" (LINES_FILE)" if entry.from_file else "")
        for entry in coming[:SHOWN]
    ]
    if len(coming) > SHOWN:
        rows.append(f"…and {len(coming) - SHOWN} more")
    return "Closed days (after-hours text, no reminder minutes):\n" + "\n".join(rows)


async def closed(invocation: Invocation, line: Line, text: str) -> str:
    """`text`: what follows `hours closed`."""
    services = invocation.services
    verb, _, rest = text.strip().partition(" ")
    if verb.lower() in ("", "list", "show") and not rest.strip():
        return describe_closed(services, line)
    denied = refusal(services, invocation.role)
    if denied:
        return denied
    if verb.lower() == "remove":
        return await _remove(services, line, rest)
    try:
        entry = closed_days.parse_entry(text)
    except ClosedDaysError as exc:
        return f"{escape(str(exc))}.\n{USAGE}"
    if entry.last < today(services, line):
        return f"{escape(entry.describe())} is already past.\n{USAGE}"
    new = await services.line_config.add_closed(line.id, entry.key, entry.note)
    services.lines.forget(line.id)
    saved = "Saved" if new else "Updated"
    return (
        f"{saved}: closed {escape(entry.describe())}. Missed calls those days get the "
        "after-hours text, and reminders count no minutes."
    )


async def _remove(services: Services, line: Line, text: str) -> str:
    try:
        first, last = closed_days.parse_range(text)
    except ClosedDaysError as exc:
        return f"{escape(str(exc))}.\n{USAGE}"
    hits = [entry for entry in line.closed if entry.overlaps(first, last)]
    ours = [entry for entry in hits if not entry.from_file]
    removed = await services.line_config.remove_closed(line.id, [entry.key for entry in ours])
    services.lines.forget(line.id)
    shown = closed_days.key(first, last)
    rows = [f"Removed: {escape(entry.describe())}" for entry in ours] if removed else []
    rows += [
        f"{escape(entry.describe())} is in LINES_FILE: remove it there."
        for entry in hits
        if entry.from_file
    ]
    return "\n".join(rows) or f"Nothing is closed on {shown}."
