"""A line: one business phone number and everything that hangs off it (plain data).

bot/lines.py builds lines from the settings and applies what was changed from Slack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from bot.domain.hours import BusinessHours

DEFAULT_LINE = "default"


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
    # Receivers of this line's webhook events: the environment's WEBHOOK_URLS unless the line
    # names its own (bot/lines.py answers which URLs get a line's events).
    webhook_urls: tuple[str, ...] = ()
    # Set from Slack (bot/overrides.py); empty/None means the environment's defaults.
    templates: Mapping[str, str] = field(default_factory=dict)  # kind -> template text
    template_versions: Mapping[str, int] = field(default_factory=dict)
    paused_until: float | None = None  # epoch seconds; inf until resumed
    overridden: frozenset[str] = frozenset()  # which settings came from Slack

    def paused_at(self, epoch: float) -> bool:
        return self.paused_until is not None and epoch < self.paused_until
