"""A line: one or more business numbers, the Slack channel they post to, and everything that
hangs off them: name, hours, texts, crew phones (plain data).

bot/lines.py builds lines from the settings and LINES_FILE and applies what was changed from
Slack. Keys in Redis carry the line id, so an id is stable for as long as the line lives.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

from bot.domain.closed_days import ClosedDays
from bot.domain.hours import BusinessHours

IntakeLink = Literal["page", "url", "off"]
INTAKE_LINKS: tuple[IntakeLink, ...] = ("page", "url", "off")
DEFAULT_LINE = "default"  # the environment's line: the only one, or the catch-all
LINE_ID = re.compile(r"[a-z0-9-]{1,32}")
# `/textback <line> <subcommand>` reads a line id where a subcommand could stand: no line may
# take a subcommand's name (tests check this list against the command table).
SUBCOMMAND_NAMES = frozenset(
    {
        "help",
        "status",
        "exclude",
        "history",
        "hours",
        "pause",
        "resume",
        "stats",
        "template",
        "window",
        "oncall",
        "me",
        "webhook",
    }
)


@dataclass(frozen=True)
class Line:
    id: str
    business_name: str
    channel_id: str
    timezone: ZoneInfo
    hours: BusinessHours
    forward_to: tuple[str, ...]
    screen_calls: bool
    ring_seconds: int
    intake_url: str | None
    window_seconds: float
    lead_seconds: float
    # E.164. The catch-all (the environment's line) answers any number no line lists; its own
    # here are TWILIO_NUMBERS, what `doctor` and `setup twilio` check (often none).
    numbers: tuple[str, ...] = ()
    # Holidays (LINES_FILE's and Slack's); `hours.closed` holds their dates for the arithmetic.
    closed: tuple[ClosedDays, ...] = ()
    # The first text's link: our intake page, intake_url, or none at all (INTAKE_LINK).
    intake_link: IntakeLink = "page"
    voicemail: bool = False  # a missed caller may leave a message (VOICEMAIL)
    # Receivers of this line's webhook events: the environment's WEBHOOK_URLS unless the line
    # names its own (LINES_FILE's webhook_urls; bot/lines.py answers which URLs get its events).
    webhook_urls: tuple[str, ...] = ()
    # Set from Slack (bot/domain/overrides.py); empty/None means the environment's defaults.
    templates: Mapping[str, str] = field(default_factory=dict)  # kind -> template text
    template_versions: Mapping[str, int] = field(default_factory=dict)
    paused_until: float | None = None  # epoch seconds; inf until resumed
    on_call: tuple[str, ...] = ()  # Slack user id per weekday, Monday first (bot/domain/oncall.py)
    overridden: frozenset[str] = frozenset()  # which settings came from Slack

    @property
    def fixed_link(self) -> str | None:
        """The link every first text carries (INTAKE_LINK=url); None for our own per-lead
        page (made for each lead) or for no link at all."""
        return self.intake_url if self.intake_link == "url" else None

    def paused_at(self, epoch: float) -> bool:
        return self.paused_until is not None and epoch < self.paused_until


def intake_link_for(chosen: IntakeLink | None, intake_url: str | None) -> IntakeLink:
    """INTAKE_LINK as it holds: the one chosen, else `url` when there is an INTAKE_URL, else
    `page` (our intake page), the behaviour from before the setting."""
    return chosen or ("url" if intake_url else "page")
