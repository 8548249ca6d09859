"""The /textback slash command: a registry of subcommands, each in its own module.

A module adds a subcommand with @subcommand(...); `help` lists them all. Answers are ephemeral
and come back in the ack, within Slack's 3 s.

May import: handlers, bot.flows, bot.domain, and the top level's services and settings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.domain.slack_text import escape
from bot.services import Services

COMMAND = "/textback"


@dataclass(frozen=True)
class Invocation:
    services: Services
    args: list[str]  # the words after the subcommand
    text: str  # everything after the subcommand, as typed
    user_id: str
    trigger_id: str = ""  # lets a subcommand open a modal (views.open) within 3 s


@dataclass(frozen=True)
class Reply:
    """An answer with Block Kit (text stays as the notification fallback)."""

    text: str
    blocks: list[dict[str, Any]]


Handler = Callable[[Invocation], Awaitable["str | Reply"]]


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    handler: Handler


SUBCOMMANDS: dict[str, Subcommand] = {}


def subcommand(name: str, usage: str, summary: str) -> Callable[[Handler], Handler]:
    def add(handler: Handler) -> Handler:
        SUBCOMMANDS[name] = Subcommand(name, usage, summary, handler)
        return handler

    return add


def help_text() -> str:
    lines = ["*/textback* — missed-call text-back"]
    lines += [f"• `{COMMAND} {c.usage}` — {c.summary}" for c in SUBCOMMANDS.values()]
    lines += [
        "Reply in a caller's thread to text them.",
        "Start a thread message with `//` for a note the caller never sees.",
    ]
    return "\n".join(lines)


@subcommand("help", "help", "this list")
async def _help(_: Invocation) -> str:
    return help_text()


async def dispatch(
    services: Services, text: str, user_id: str, trigger_id: str = ""
) -> str | Reply:
    verb, _, rest = text.strip().partition(" ")
    found = SUBCOMMANDS.get(verb.lower() or "help")
    if found is None:
        return f"I don't know `{escape(verb[:40])}`.\n{help_text()}"
    return await found.handler(
        Invocation(services, rest.split(), rest.strip(), user_id, trigger_id)
    )


def register(bolt: AsyncApp, services: Services) -> None:
    # Importing a module registers its subcommands; help lists them in this order.
    from handlers.slack import template_modal
    from handlers.slack.commands import (  # noqa: F401
        exclude,
        history,
        hours,
        pause,
        stats,
        status,
        template,
        webhook,
        window,
    )

    template_modal.register(bolt, services)

    @bolt.command(COMMAND)
    async def textback(ack: Any, command: dict[str, Any]) -> None:
        text = str(command.get("text") or "")
        user_id = str(command.get("user_id") or "")
        trigger_id = str(command.get("trigger_id") or "")
        answer = await dispatch(services, text, user_id, trigger_id)
        if isinstance(answer, Reply):
            await ack(text=answer.text, blocks=answer.blocks)
        else:
            await ack(text=answer)
