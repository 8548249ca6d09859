"""The /textback slash command: SUBCOMMANDS below is the one table of subcommands, in help order.

One module per subcommand (pause.py has pause and resume), each exposing its handler: an async
function from an Invocation (invocation.py) to the answer. Adding a subcommand is its module plus
one entry here; nothing registers by being imported. admin.py (who may change settings) and
template_common.py are shared helpers. Answers are ephemeral and come back in the ack, within
Slack's 3 s, and no Slack call sits before it: who is asking is known ahead (roles.py); a
subcommand that needs Slack (a modal) answers AfterAck and does it right after; someone not
known yet gets "one moment" in the ack and the answer through response_url. Guests are refused.

May import bot.flows, bot.domain, bot.doctor (status's wiring lines), bot.lines and
bot.services (storage through the services' verbs); only handlers/slack imports this package.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.domain.line import Line
from bot.domain.slack_text import escape
from bot.services import Services
from handlers.slack import roles
from handlers.slack.commands import (
    exclude,
    history,
    hours,
    me,
    oncall,
    pause,
    stats,
    status,
    template,
    webhook,
    window,
)
from handlers.slack.commands.admin import CHECKING, COULD_NOT_ASK, GUESTS
from handlers.slack.commands.invocation import AfterAck, Invocation, Reply
from handlers.slack.roles import Role

log = logging.getLogger(__name__)

COMMAND = "/textback"

Answer = str | Reply | AfterAck
Handler = Callable[[Invocation], Awaitable[Answer]]


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    handler: Handler


async def _help(invocation: Invocation) -> str:
    return help_text(invocation.services)


SUBCOMMANDS = (
    Subcommand("help", "help", "this list", _help),
    Subcommand(
        "exclude",
        "exclude add <number>[, <number>…] [note] | remove <number> | list",
        "numbers that never get an auto-text (personal, suppliers, customers)",
        exclude.exclude,
    ),
    Subcommand(
        "history",
        history.USAGE,
        "a number's consent history: calls, texts, consent, opt-outs",
        history.history,
    ),
    Subcommand(
        "hours",
        f"hours show | set {hours.EXAMPLE} [time zone] | closed <date or range> [note] | "
        "closed list | closed remove <date or range>",
        "business hours and closed days (holidays)",
        hours.hours,
    ),
    Subcommand(
        "oncall",
        f"oncall [@person | {oncall.EXAMPLE} | off]",
        "who new leads and unanswered callers ping (a push on their phone; @here is not)",
        oncall.on_call,
    ),
    Subcommand(
        "me",
        "me [phone <number> | phone off]",
        "the phone your call backs ring (the caller sees the business number)",
        me.me,
    ),
    Subcommand(
        "pause",
        "pause [until <time>]",
        "vacation mode: calls still post here, no auto-texts",
        pause.pause,
    ),
    Subcommand("resume", "resume", "auto-texts back on", pause.resume),
    Subcommand(
        "stats",
        "stats [7d|30d]",
        "missed calls, texts, replies, bookings and answer times",
        stats.stats,
    ),
    Subcommand(
        "template",
        "template show | set <business|after-hours|repeat> <text> | reset <kind> | edit",
        "the automated texts, with a live preview (characters, segments, encoding)",
        template.template,
    ),
    Subcommand(
        "status",
        "status",
        "what is in effect, Redis and Twilio health, queue depth, last error",
        status.status,
    ),
    Subcommand(
        "window", "window [hours]", "one auto-text per caller per this many hours", window.window
    ),
    Subcommand(
        "webhook",
        "webhook [enable <n> | retry [<n>] | test [<n>]]",
        "where each lead's events go (Zapier, Make, a CRM), and their state",
        webhook.webhook,
    ),
)
_BY_NAME = {subcommand.name: subcommand for subcommand in SUBCOMMANDS}


def help_text(services: Services | None = None) -> str:
    lines = ["*/textback* — missed-call text-back"]
    lines += [f"• `{COMMAND} {c.usage}` — {c.summary}" for c in SUBCOMMANDS]
    if services is not None and services.lines.several:
        ids = ", ".join(f"`{line.id}`" for line in services.lines.all)
        lines.append(
            "In a line's channel a command acts on that line; elsewhere name the line first "
            f"(`{COMMAND} <line> template show`). Lines: {ids}."
        )
    lines += [
        "Reply in a caller's thread to text them.",
        "Start a thread message with `//` for a note the caller never sees.",
    ]
    return "\n".join(lines)


async def dispatch(
    services: Services,
    text: str,
    user_id: str,
    trigger_id: str = "",
    channel_id: str = "",
    role: Role = "member",
) -> Answer:
    lines = services.lines
    words = text.strip()
    first, _, after = words.partition(" ")
    named = lines.by_id(first.lower()) if first.lower() not in _BY_NAME else None
    line: Line | None
    if named is not None:
        line, words = named, after.strip()
    elif lines.several:
        line = lines.for_channel(channel_id)
    else:
        line = lines.all[0]
    verb, _, rest = words.partition(" ")
    found = _BY_NAME.get(verb.lower() or "help")
    if found is None:
        return f"I don't know `{escape(verb[:40])}`.\n{help_text(services)}"
    return await found.handler(
        Invocation(services, rest.split(), rest.strip(), user_id, trigger_id, line, role)
    )


async def textback(services: Services, ack: Any, command: dict[str, Any], respond: Any) -> None:
    """The Bolt listener for /textback (handlers/slack/__init__.py registers it). Bolt sends the
    ack when this returns: only Redis work happens here, Slack work after (services.background)."""
    text = str(command.get("text") or "")
    user_id = str(command.get("user_id") or "")
    trigger_id = str(command.get("trigger_id") or "")
    channel_id = str(command.get("channel_id") or "")
    role = await roles.known(services, user_id)
    if role is None:
        await ack(text=CHECKING)
        later = _answer_later(services, respond, text, user_id, trigger_id, channel_id)
        services.background.spawn(later, "textback after users.info")
        return
    answer = (
        GUESTS
        if role == "guest"
        else await dispatch(services, text, user_id, trigger_id, channel_id, role)
    )
    if isinstance(answer, Reply):
        await ack(text=answer.text, blocks=answer.blocks)
    elif isinstance(answer, AfterAck):
        await ack(text=answer.text)
        services.background.spawn(_then(answer, respond), "textback after the ack")
    else:
        await ack(text=answer)


async def _then(answer: AfterAck, respond: Any) -> None:
    follow_up = await answer.then()
    if follow_up:
        await respond(text=follow_up)


async def _answer_later(
    services: Services,
    respond: Any,
    text: str,
    user_id: str,
    trigger_id: str,
    channel_id: str,
) -> None:
    """For someone not known yet: ask Slack who they are (after the ack), then answer through
    response_url."""
    role = await roles.ask_slack(services, user_id)
    if role is None:
        await respond(text=COULD_NOT_ASK)
        return
    if role == "guest":
        await respond(text=GUESTS)
        return
    answer = await dispatch(services, text, user_id, trigger_id, channel_id, role)
    if isinstance(answer, Reply):
        await respond(text=answer.text, blocks=answer.blocks)
    elif isinstance(answer, AfterAck):
        await respond(text=answer.text)
        await _then(answer, respond)
    else:
        await respond(text=answer)
