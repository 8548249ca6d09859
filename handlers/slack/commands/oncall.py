"""`/textback oncall`: who a new lead and an unanswered caller ping, per line.

`@here` reaches only people active in Slack at that moment; the person on call gets a mention,
a push on their phone: on a new lead's card, on every caller text while the lead is unclaimed,
and in the first reminder. Once someone claims the lead, the claimer gets them instead.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain import oncall
from bot.domain.hours import DAY_NAMES
from bot.domain.line import Line
from bot.domain.slack_text import escape
from bot.services import Services
from handlers.slack.commands.admin import refusal
from handlers.slack.commands.invocation import Invocation, which_line

EXAMPLE = oncall.EXAMPLE
USAGE = (
    "Usage: `/textback oncall @maria` (every day), "
    f"`/textback oncall {EXAMPLE}` (a weekly rotation; the day switches at midnight on "
    "the line's clock), `/textback oncall off`; `/textback oncall` shows it. Pick the person "
    "from the list Slack shows as you type @."
)
OFF_WORDS = frozenset({"off", "none", "nobody", "clear"})


def describe_on_call(services: Services, line: Line) -> str:
    if not any(line.on_call):
        return (
            "On call: nobody. New leads mention no one, and reminders use @here, which reaches "
            "only people active in Slack right now. Set it with `/textback oncall @maria`."
        )
    local = datetime.fromtimestamp(services.clock(), line.timezone)
    now = oncall.on_call(line, services.clock())
    today = f"<@{now}>" if now else "nobody"
    return (
        f"On call: {oncall.describe(line.on_call)} (days on {line.timezone.key} time) · "
        f"today ({DAY_NAMES[local.weekday()]}): {today}. A new lead's card, a caller's texts "
        "while nobody has claimed the lead, and the first reminder mention them."
    )


async def on_call(invocation: Invocation) -> str:
    services = invocation.services
    line = await invocation.current_line()
    if line is None:
        return which_line(services)
    text = invocation.text.strip()
    if not text or text.lower() == "show":
        return describe_on_call(services, line)
    denied = refusal(services, invocation.role)
    if denied:
        return denied
    if text.lower() in OFF_WORDS:
        await services.line_config.clear_on_call(line.id)
        services.lines.forget(line.id)
        return describe_on_call(services, await services.lines.current(line.id))
    try:
        rota = oncall.parse(text)
    except oncall.OnCallError as exc:
        return f"{escape(str(exc))}\n{USAGE}"
    await services.line_config.set_on_call(line.id, oncall.stored(rota))
    services.lines.forget(line.id)
    return "Saved. " + describe_on_call(services, await services.lines.current(line.id))
