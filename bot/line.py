"""A line: one business phone number and everything that hangs off it.

Today the environment defines one default line that answers for any number Twilio sends us;
storage keys already carry the line id so more numbers and locations fit without reshaping.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.hours import BusinessHours
from bot.settings import Settings

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


def default_line(settings: Settings) -> Line:
    return Line(
        id=DEFAULT_LINE,
        business_name=settings.business_name,
        channel_id=settings.slack_channel_id,
        timezone=settings.timezone,
        hours=settings.hours,
        forward_to=tuple(settings.forward_to),
        screen_calls=settings.screen_calls,
        ring_seconds=settings.ring_seconds,
        intake_url=settings.intake_url,
        window_seconds=settings.textback_window_hours * 3600,
        lead_seconds=settings.lead_thread_days * 86_400,
    )


class Lines:
    """Finds the line for a business number (the To of a call or text)."""

    def __init__(self, default: Line) -> None:
        self.default = default

    def for_number(self, business_number: str) -> Line:
        return self.default

    def by_id(self, line_id: str) -> Line:
        return self.default
