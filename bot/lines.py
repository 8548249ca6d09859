"""The lines this deployment answers for, as configured and as changed from Slack.

Today the environment defines one default line that answers for any number Twilio sends us;
storage keys already carry the line id so more numbers and locations fit without reshaping.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.domain import overrides
from bot.domain.line import DEFAULT_LINE, Line
from bot.settings import Settings
from storage.line_config import LineConfig


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
        webhook_urls=tuple(settings.webhook_urls),
    )


class Lines:
    """Finds the line for a business number (the To of a call or text).

    for_number/by_id give the environment's line; current/current_by_id apply what was changed
    from Slack (read from Redis, kept per process for at most `ttl` seconds; a change made in
    this process is seen at once, other processes see it within `ttl`)."""

    def __init__(
        self,
        default: Line,
        config: LineConfig | None = None,
        ttl: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.default = default
        self.config = config
        self.ttl = ttl
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, Line]] = {}

    async def current(self, business_number: str) -> Line:
        return await self.current_by_id(self.for_number(business_number).id)

    async def current_by_id(self, line_id: str) -> Line:
        if self.config is None:
            return self.by_id(line_id)
        now = self._monotonic()
        cached = self._cache.get(line_id)
        if cached is not None and now < cached[0]:
            return cached[1]
        line = overrides.apply(self.by_id(line_id), await self.config.overrides(line_id))
        self._cache[line_id] = (now + self.ttl, line)
        return line

    def forget(self, line_id: str) -> None:
        """After a change from this process: the next call reads Redis again."""
        self._cache.pop(line_id, None)

    def for_number(self, business_number: str) -> Line:
        return self.default

    def by_id(self, line_id: str) -> Line:
        return self.default

    def all(self) -> list[Line]:
        return [self.default]

    # --- outbound webhooks: the one place that says who hears about a line -----------------
    def webhook_urls(self, line_id: str) -> tuple[str, ...]:
        """The URLs that get this line's events: the line's own (a line in a lines file may
        name some), which today are the environment's WEBHOOK_URLS. Empty: no events at all."""
        return self.by_id(line_id).webhook_urls

    def using_webhook(self, url: str) -> list[Line]:
        """The lines whose events go to `url` (told in their channels when it is disabled)."""
        return [line for line in self.all() if url in self.webhook_urls(line.id)]

    def webhook_endpoints(self) -> list[str]:
        """Every URL some line sends to, in a stable order (`/textback webhook` numbers them)."""
        found: dict[str, None] = {}
        for line in self.all():
            found.update(dict.fromkeys(self.webhook_urls(line.id)))
        return list(found)
