"""What a /textback subcommand receives and what it may answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.domain.line import Line
from bot.services import Services
from handlers.slack.roles import Role


@dataclass(frozen=True)
class Invocation:
    services: Services
    args: list[str]  # the words after the subcommand
    text: str  # everything after the subcommand, as typed
    user_id: str
    trigger_id: str = ""  # lets a subcommand open a modal (views.open) within 3 s
    # The line it acts on: the one named first, the channel's, or the only one. None when typed
    # outside every line's channel with several lines and none named.
    line: Line | None = None
    role: Role = "member"  # what Slack says they are (guests never get this far)

    async def current_line(self) -> Line | None:
        """The line with what was changed from Slack, or None (answer with which_line())."""
        return await self.services.lines.current(self.line.id) if self.line else None


def which_line(services: Services) -> str:
    """The answer to a change (or a per-line question) typed outside every line's channel."""
    listed = "\n".join(
        f"• `{line.id}`: {line.business_name} (<#{line.channel_id}>)" for line in services.lines.all
    )
    return (
        "Which line? Type this in the line's channel, or name the line first, e.g. "
        f"`/textback {services.lines.all[0].id} template show`. Lines:\n{listed}"
    )


@dataclass(frozen=True)
class Reply:
    """An answer with Block Kit (text stays as the notification fallback)."""

    text: str
    blocks: list[dict[str, Any]]


@dataclass(frozen=True)
class AfterAck:
    """An answer now, and Slack work that must not sit before it (a modal to open with the
    command's trigger): `then` runs right after the ack; what it returns, if anything, follows
    through response_url."""

    text: str
    then: Callable[[], Awaitable[str | None]]
