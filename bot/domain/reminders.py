"""When a caller's unanswered text is due a reminder: business minutes, pure."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.hours import BusinessHours

REMINDERS = 2  # at the SLA, then at twice the SLA; never a third


def due_at(since: float, minutes: float, hours: BusinessHours, tz: ZoneInfo) -> float:
    """Epoch seconds when `minutes` of business time have passed since `since`.

    After hours the count starts at the next opening; time the business is closed doesn't count."""
    at = datetime.fromtimestamp(since, tz)
    left = timedelta(minutes=minutes)
    step = timedelta(minutes=1)
    while left > timedelta(0):
        opened = hours.next_open(at)
        if opened is None:  # never open: count wall-clock time
            return since + minutes * 60
        at = opened
        chunk = min(step, left)
        at = (at.astimezone(ZoneInfo("UTC")) + chunk).astimezone(tz)
        left -= chunk
    return at.timestamp()


def schedule(since: float, minutes: float, hours: BusinessHours, tz: ZoneInfo) -> list[float]:
    return [due_at(since, minutes * n, hours, tz) for n in range(1, REMINDERS + 1)]


def mention(n: int, person: str | None, escalate: bool) -> str:
    """Who the n-th reminder pings: the claimer or the person on call (else @here, which reaches
    only people active in Slack); the last one also @channel, everyone, when `escalate`."""
    if n >= REMINDERS and escalate:
        return f"<@{person}> <!channel>" if person else "<!channel>"
    return f"<@{person}>" if person else "<!here>"


def text(n: int, minutes: float, mention: str, landline: bool = False) -> str:
    waited = int(minutes * n)
    last = " (last reminder)" if n >= REMINDERS else ""
    how = (
        "They can't get texts: tap *Call back* on the card."
        if landline
        else "Reply in this thread to text them."
    )
    return (
        f":alarm_clock: {mention} this caller has waited {waited} business minutes "
        f"for an answer{last}. {how}"
    )
