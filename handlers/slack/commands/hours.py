"""`/textback hours show|set|closed`: business hours (and closed days, closed.py) decide between
the business and the after-hours text, and which minutes count toward a reminder."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain import closed_days
from bot.domain.hours import EXAMPLE, BusinessHours, HoursError
from bot.domain.line import Line
from bot.domain.slack_text import escape
from bot.domain.when import describe as describe_time
from bot.services import Services
from handlers.slack.commands.admin import refusal
from handlers.slack.commands.closed import closed
from handlers.slack.commands.invocation import Invocation, which_line

USAGE = (
    f"Usage: `/textback hours show` or `/textback hours set {EXAMPLE}` "
    "(optionally ending with a time zone, e.g. `America/Chicago`); closed days: "
    f"`/textback hours closed {closed_days.EXAMPLE} [note]`, `hours closed list`, "
    "`hours closed remove <date or range>`."
)


def describe_hours(services: Services, line: Line) -> str:
    source = "set in Slack" if "hours" in line.overridden else "default"
    now = datetime.fromtimestamp(services.clock(), line.timezone)
    opens = line.hours.next_open(now)
    if opens is None:
        state = "closed every day: every missed call gets the after-hours text"
    elif opens == now:
        state = "open now"
    else:
        state = f"closed now, opens {describe_time(opens)}"
    coming = closed_days.upcoming(line.closed, now.date())
    if coming and coming[0].covers(now.date()):
        state += f" · closed day today: {escape(coming[0].describe())}"
    elif coming:
        state += f" · next closed day: {escape(coming[0].describe())}"
    return f"Hours: {line.hours.describe()} ({line.timezone.key}, {source}) · {state}"


async def hours(invocation: Invocation) -> str:
    verb, _, rest = invocation.text.partition(" ")
    services = invocation.services
    line = await invocation.current_line()
    if line is None:
        return which_line(services)
    if verb.lower() in ("show", ""):
        return describe_hours(services, line)
    if verb.lower() == "closed":
        return await closed(invocation, line, rest)
    if verb.lower() != "set" or not rest.strip():
        return USAGE
    denied = refusal(services, invocation.role)
    if denied:
        return denied
    spec, zone = _split_zone(rest.strip(), line.timezone.key)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"`{escape(zone)}` is not a time zone I know (use e.g. America/New_York).\n{USAGE}"
    try:
        BusinessHours.parse(spec)
    except HoursError as exc:
        return f"{escape(str(exc))}.\n{USAGE}"
    await services.line_config.set_hours(line.id, spec, zone)
    services.lines.forget(line.id)
    line = await services.lines.current(line.id)
    return "Saved. " + describe_hours(services, line)


def _split_zone(text: str, default: str) -> tuple[str, str]:
    """A trailing IANA zone ("America/Chicago", "UTC") is the time zone, the rest the hours."""
    head, _, last = text.rpartition(" ")
    if head and ("/" in last or last.upper() == "UTC"):
        return head.strip(), "UTC" if last.upper() == "UTC" else last
    return text, default
