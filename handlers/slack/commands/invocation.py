"""What a /textback subcommand receives and what it may answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.services import Services


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
