"""`/textback window [hours]`: one auto-text per caller per this many hours."""

from __future__ import annotations

import re

from bot.domain.slack_text import escape
from handlers.slack.commands.admin import refusal
from handlers.slack.commands.invocation import Invocation, which_line

MIN_HOURS, MAX_HOURS = 1, 720
USAGE = (
    f"Usage: `/textback window <hours>`, a whole number from {MIN_HOURS} to {MAX_HOURS} "
    "(e.g. `/textback window 48`); `/textback window` shows it."
)
_HOURS = re.compile(r"(\d+)\s*(h|hours?)?", re.IGNORECASE)


async def window(invocation: Invocation) -> str:
    services = invocation.services
    line = await invocation.current_line()
    if line is None:
        return which_line(services)
    current = line.window_seconds / 3600
    source = "set in Slack" if "window" in line.overridden else "default"
    if not invocation.text:
        return f"One auto-text per caller per {current:g} h ({source})."
    match = _HOURS.fullmatch(invocation.text.strip())
    if match is None or not MIN_HOURS <= int(match.group(1)) <= MAX_HOURS:
        return f"`{escape(invocation.text)}` is not a window I can use.\n{USAGE}"
    denied = refusal(services, invocation.role)
    if denied:
        return denied
    hours = int(match.group(1))
    await services.line_config.set_window(line.id, hours)
    services.lines.forget(line.id)
    return f"Saved: one auto-text per caller per {hours} h (was {current:g} h)."
