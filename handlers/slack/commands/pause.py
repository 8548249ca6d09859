"""`/textback pause [until <time>]` and `resume`: vacation mode.

While paused, missed calls still post to Slack (marked paused) but nobody gets an auto-text.
A pause with an end resumes by itself: the end is compared with each call's time.
"""

from __future__ import annotations

import math
from datetime import datetime

from bot.domain.line import Line
from bot.domain.slack_text import escape
from bot.domain.when import EXAMPLES, WhenError, parse_until
from bot.domain.when import describe as describe_time
from handlers.slack.commands.admin import refusal
from handlers.slack.commands.invocation import Invocation, which_line

USAGE = (
    "Usage: `/textback pause` (until you resume), `/textback pause until <time>` "
    f"(e.g. {EXAMPLES}) or `/textback resume`."
)


def describe_pause(line: Line, now: float) -> str:
    if not line.paused_at(now):
        return "Auto-texts: on"
    assert line.paused_until is not None
    if math.isinf(line.paused_until):
        return "Auto-texts: *paused* until someone runs `/textback resume`"
    resumes = datetime.fromtimestamp(line.paused_until, line.timezone)
    return f"Auto-texts: *paused* until {describe_time(resumes)}"


async def pause(invocation: Invocation) -> str:
    services = invocation.services
    line = await invocation.current_line()
    if line is None:
        return which_line(services)
    text = invocation.text.strip()
    now = datetime.fromtimestamp(services.clock(), line.timezone)
    until = math.inf
    if text:
        if not text.lower().startswith(("until ", "for ")):
            return USAGE
        try:
            until = parse_until(text, now).timestamp()
        except WhenError as exc:
            return f"{escape(str(exc))}.\n{USAGE}"
    denied = refusal(services, invocation.role)
    if denied:
        return denied
    await services.line_config.pause(line.id, until)
    services.lines.forget(line.id)
    line = await services.lines.current(line.id)
    return (
        describe_pause(line, now.timestamp())
        + ". Missed calls still post here; nobody gets an auto-text."
        + ("" if math.isinf(until) else " Auto-texts resume by themselves then.")
    )


async def resume(invocation: Invocation) -> str:
    services = invocation.services
    if invocation.text.strip():
        return USAGE
    if invocation.line is None:
        return which_line(services)
    denied = refusal(services, invocation.role)
    if denied:
        return denied
    line_id = invocation.line.id
    was_paused = await services.line_config.resume(line_id)
    services.lines.forget(line_id)
    if not was_paused:
        return "Auto-texts were not paused: they are on."
    return "Auto-texts are on again: the next missed caller gets one."
