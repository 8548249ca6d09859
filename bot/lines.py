"""The lines this deployment answers for, as configured and as changed from Slack.

Without LINES_FILE, the environment defines one line (id "default") that answers any number
Twilio sends us, as it always has. With LINES_FILE, each `[[line]]` of the TOML file is a line
with its own numbers and channel; the environment's line, when BUSINESS_NAME and
SLACK_CHANNEL_ID are set, stays as the catch-all for numbers no `[[line]]` lists. A file with any
problem stops start-up with one message naming the file, the entry and the problem: nothing
starts half-configured.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain import closed_days, overrides, webhooks
from bot.domain.closed_days import ClosedDays, ClosedDaysError
from bot.domain.hours import BusinessHours, HoursError
from bot.domain.line import (
    DEFAULT_LINE,
    INTAKE_LINKS,
    LINE_ID,
    SUBCOMMAND_NAMES,
    Line,
    intake_link_for,
)
from bot.domain.phone import InvalidNumber, to_e164
from bot.settings import Settings
from storage.line_config import LineConfig

REQUIRED_KEYS = ("id", "numbers", "name", "channel")
# Optional keys, each defaulting to the environment's setting of the same meaning (closed days:
# none).
OPTIONAL_KEYS = (
    "timezone",
    "hours",
    "forward_to",
    "ring_seconds",
    "screen_calls",
    "window_hours",
    "lead_thread_days",
    "intake_url",
    "intake_link",
    "closed",
    "voicemail",
    "webhook_urls",
)


class LinesError(Exception):
    """LINES_FILE can't be used; the message names the file, the entry and the problem."""


def default_line(settings: Settings) -> Line:
    """The environment's line. Only called when BUSINESS_NAME and SLACK_CHANNEL_ID are set."""
    assert settings.business_name and settings.slack_channel_id
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
        intake_link=intake_link_for(settings.intake_link, settings.intake_url),
        numbers=tuple(settings.twilio_numbers),
        voicemail=settings.voicemail,
        webhook_urls=tuple(settings.webhook_urls),
    )


def load(settings: Settings) -> tuple[tuple[Line, ...], Line | None]:
    """(the file's lines, the catch-all). Raises LinesError."""
    has_env_line = bool(settings.business_name and settings.slack_channel_id)
    env_line = default_line(settings) if has_env_line else None
    if not settings.lines_file:
        assert env_line is not None  # the settings require it without LINES_FILE
        return (), env_line
    if env_line is None and settings.twilio_numbers:
        raise LinesError(
            "TWILIO_NUMBERS names the environment's line's numbers, but there is no such line "
            "(BUSINESS_NAME and SLACK_CHANNEL_ID are unset): list those numbers in a [[line]] of "
            f"LINES_FILE {settings.lines_file} instead"
        )
    return parse(Path(settings.lines_file), settings, env_line), env_line


def parse(path: Path, settings: Settings, env_line: Line | None) -> tuple[Line, ...]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LinesError(f"LINES_FILE {path}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise LinesError(f"LINES_FILE {path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise LinesError(f"LINES_FILE {path}: TOML syntax error: {exc}") from None
    unknown_tables = sorted(set(raw) - {"line"})
    if unknown_tables:
        raise LinesError(
            f"LINES_FILE {path}: unknown top-level key(s) {', '.join(unknown_tables)}; "
            "each line is a [[line]] table"
        )
    entries = raw.get("line")
    if not isinstance(entries, list) or not entries:
        raise LinesError(f"LINES_FILE {path}: no [[line]] tables")
    lines = [_line(path, n, entry, settings) for n, entry in enumerate(entries, start=1)]
    _check_unique(path, lines, env_line)
    return tuple(lines)


def _line(path: Path, n: int, entry: Any, settings: Settings) -> Line:
    where = f"LINES_FILE {path}: [[line]] #{n}"
    if not isinstance(entry, dict):
        raise LinesError(f"{where}: not a table")
    if isinstance(entry.get("id"), str):
        where += f' (id "{entry["id"]}")'

    def problem(text: str) -> LinesError:
        return LinesError(f"{where}: {text}")

    unknown = sorted(set(entry) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        known = ", ".join(REQUIRED_KEYS + OPTIONAL_KEYS)
        raise problem(f"unknown key(s) {', '.join(unknown)}; known: {known}")
    missing = [key for key in REQUIRED_KEYS if key not in entry]
    if missing:
        raise problem(f"missing required key(s) {', '.join(missing)}")
    line_id = _text(entry, "id", problem)
    if not LINE_ID.fullmatch(line_id):
        raise problem("id must be 1 to 32 characters of a-z, 0-9 and '-'")
    if line_id in SUBCOMMAND_NAMES:
        raise problem(f'id "{line_id}" is a /textback subcommand; choose another')
    name = _text(entry, "name", problem)
    if len(name) > 60:
        raise problem("name is longer than 60 characters")
    channel = _text(entry, "channel", problem)
    if channel[:1] not in ("C", "G") or not channel.isalnum():
        raise problem(
            f'channel "{channel}" is not a Slack channel ID (C…, from the channel\'s About)'
        )
    numbers = _numbers(entry, "numbers", problem)
    if not numbers:
        raise problem("numbers is empty")
    zone_name = entry.get("timezone", settings.business_timezone)
    try:
        zone = ZoneInfo(_str(zone_name, "timezone", problem))
    except (ZoneInfoNotFoundError, ValueError):
        raise problem(f'unknown IANA time zone "{zone_name}"') from None
    try:
        hours = BusinessHours.parse(
            _str(entry.get("hours", settings.business_hours), "hours", problem)
        )
    except HoursError as exc:
        raise problem(f"hours: {exc}") from None
    forward_to = (
        _numbers(entry, "forward_to", problem)
        if "forward_to" in entry
        else tuple(settings.forward_to)
    )
    ring_seconds = _number(entry, "ring_seconds", settings.ring_seconds, problem, int, 5, 60)
    screen_calls = entry.get("screen_calls", settings.screen_calls)
    if not isinstance(screen_calls, bool):
        raise problem("screen_calls must be true or false")
    voicemail = entry.get("voicemail", settings.voicemail)
    if not isinstance(voicemail, bool):
        raise problem("voicemail must be true or false")
    window_hours = _number(
        entry, "window_hours", settings.textback_window_hours, problem, float, 0.01, 720
    )
    lead_days = _number(
        entry, "lead_thread_days", settings.lead_thread_days, problem, float, 0.01, 365
    )
    intake_url = entry.get("intake_url", settings.intake_url)
    if intake_url is not None:
        intake_url = _str(intake_url, "intake_url", problem)
        if not intake_url.startswith(("https://", "http://")):
            raise problem("intake_url must start with https://")
    chosen = entry.get("intake_link", settings.intake_link)
    if chosen is not None and chosen not in INTAKE_LINKS:
        raise problem('intake_link must be "page", "url" or "off"')
    intake_link = intake_link_for(chosen, intake_url)
    if intake_link == "url" and not intake_url:
        raise problem('intake_link "url" needs an intake_url (here or INTAKE_URL)')
    closed = _closed(entry, problem)
    webhook_urls = _webhook_urls(entry, settings, problem)
    return Line(
        id=line_id,
        business_name=name,
        channel_id=channel,
        timezone=zone,
        hours=replace(hours, closed=closed_days.ranges(closed)),
        closed=closed,
        forward_to=forward_to,
        screen_calls=screen_calls,
        ring_seconds=int(ring_seconds),
        intake_url=intake_url,
        window_seconds=float(window_hours) * 3600,
        lead_seconds=float(lead_days) * 86_400,
        numbers=numbers,
        intake_link=intake_link,
        voicemail=voicemail,
        webhook_urls=webhook_urls,
    )


def _check_unique(path: Path, lines: list[Line], env_line: Line | None) -> None:
    ids: dict[str, int] = {}
    channels: dict[str, str] = {}
    numbers: dict[str, str] = {}
    if env_line is not None:
        ids[env_line.id] = 0
        channels[env_line.channel_id] = env_line.id
        numbers.update(dict.fromkeys(env_line.numbers, env_line.id))
    for n, line in enumerate(lines, start=1):
        where = f'LINES_FILE {path}: [[line]] #{n} (id "{line.id}")'
        if line.id in ids:
            first = "the environment's line" if ids[line.id] == 0 else f"[[line]] #{ids[line.id]}"
            raise LinesError(f'{where}: id "{line.id}" is already used by {first}')
        ids[line.id] = n
        if line.channel_id in channels:
            raise LinesError(
                f'{where}: channel {line.channel_id} is also line "{channels[line.channel_id]}"\'s;'
                " two numbers that share a channel are one line with two numbers"
            )
        channels[line.channel_id] = line.id
        for number in line.numbers:
            if number in numbers:
                owner = numbers[number]
                listed_by = (
                    "TWILIO_NUMBERS (the environment's line)"
                    if env_line is not None and owner == env_line.id
                    else f'line "{owner}"'
                )
                raise LinesError(f"{where}: number {number} is also listed by {listed_by}")
            numbers[number] = line.id
        for number in line.forward_to:
            if number in line.numbers:
                raise LinesError(f"{where}: forward_to {number} is one of its own numbers (a loop)")


def _closed(entry: dict[str, Any], problem: Callable[[str], LinesError]) -> tuple[ClosedDays, ...]:
    """closed = ["2026-12-25", "2026-12-24..2026-12-26"]: whole days, on the line's clock."""
    values = entry.get("closed", [])
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list):
        raise problem('closed must be a list of dates or ranges, e.g. ["2026-12-24..2026-12-26"]')
    found: list[ClosedDays] = []
    for index, value in enumerate(values):
        try:
            first, last = closed_days.parse_range(_str(value, f"closed[{index}]", problem))
        except ClosedDaysError as exc:
            raise problem(f"closed[{index}]: {exc}") from None
        found.append(ClosedDays(first, last, from_file=True))
    return tuple(sorted(found, key=lambda c: (c.first, c.last)))


def _webhook_urls(
    entry: dict[str, Any], settings: Settings, problem: Callable[[str], LinesError]
) -> tuple[str, ...]:
    """webhook_urls = ["https://hooks.zapier.com/…"]: this line's receivers instead of
    WEBHOOK_URLS (an empty list: none for this line), checked as WEBHOOK_URLS is. A URL is
    named by its place, never echoed: a catch-hook URL is as good as a password."""
    if "webhook_urls" not in entry:
        return tuple(settings.webhook_urls)
    values = entry["webhook_urls"]
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list):
        raise problem("webhook_urls must be a list of https:// URLs")
    found: list[str] = []
    for index, value in enumerate(values):
        try:
            url = webhooks.check_url(_str(value, f"webhook_urls[{index}]", problem))
        except ValueError as exc:
            raise problem(f"webhook_urls[{index}]: {exc}") from None
        if url not in found:
            found.append(url)
    if found and settings.webhook_secret is None:
        raise problem(
            "webhook_urls needs WEBHOOK_SECRET, which signs every event "
            "(make one: python -m bot webhook secret)"
        )
    return tuple(found)


def _text(entry: dict[str, Any], key: str, problem: Callable[[str], LinesError]) -> str:
    value = _str(entry[key], key, problem).strip()
    if not value:
        raise problem(f"{key} is empty")
    return value


def _str(value: Any, key: str, problem: Callable[[str], LinesError]) -> str:
    if not isinstance(value, str):
        raise problem(f"{key} must be a string")
    return value


def _numbers(
    entry: dict[str, Any], key: str, problem: Callable[[str], LinesError]
) -> tuple[str, ...]:
    values = entry[key]
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list):
        raise problem(f"{key} must be a list of phone numbers")
    found: list[str] = []
    for index, value in enumerate(values):
        try:
            number = to_e164(_str(value, f"{key}[{index}]", problem))
        except InvalidNumber:
            raise problem(f'{key}[{index}] "{value}" is not a valid phone number') from None
        if number in found:
            raise problem(f"{key} lists {number} twice")
        found.append(number)
    return tuple(found)


def _number(
    entry: dict[str, Any],
    key: str,
    default: float,
    problem: Callable[[str], LinesError],
    kind: type,
    low: float,
    high: float,
) -> float:
    value = entry.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (kind is int and not isinstance(value, int))
    ):
        raise problem(f"{key} must be a {'whole ' if kind is int else ''}number")
    if not low <= value <= high:
        raise problem(f"{key} must be between {low:g} and {high:g}")
    return float(value)


class Lines:
    """Finds the line for a business number (the To of a call or text), a channel or an id.

    The catch-all (the environment's line) answers every number no other line lists, whether or
    not TWILIO_NUMBERS names some of them.

    current/current_by_id apply what was changed from Slack (read from Redis, kept per process
    for at most `ttl` seconds; a change made in this process is seen at once, other processes
    see it within `ttl`)."""

    def __init__(
        self,
        lines: Iterable[Line] = (),
        catch_all: Line | None = None,
        config: LineConfig | None = None,
        ttl: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.catch_all = catch_all
        self.all: tuple[Line, ...] = (*lines, *([catch_all] if catch_all else []))
        self._by_id = {line.id: line for line in self.all}
        self._by_number = {number: line for line in self.all for number in line.numbers}
        self._by_channel = {line.channel_id: line for line in self.all}
        self.config = config
        self.ttl = ttl
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, Line]] = {}

    @classmethod
    def from_settings(cls, settings: Settings, config: LineConfig | None = None) -> Lines:
        lines, catch_all = load(settings)
        return cls(lines, catch_all, config)

    @property
    def several(self) -> bool:
        return len(self.all) > 1

    @property
    def any_name(self) -> str:
        """The business name for a page that knows no line (an expired intake link): the one
        every line shares, or the catch-all's, or the first line's."""
        names = {line.business_name for line in self.all}
        if len(names) == 1:
            return names.pop()
        return (self.catch_all or self.all[0]).business_name

    def for_number(self, business_number: str) -> Line | None:
        """The line that lists this number, else the catch-all; None when neither."""
        return self._by_number.get(business_number, self.catch_all)

    def for_channel(self, channel_id: str) -> Line | None:
        return self._by_channel.get(channel_id)

    def by_id(self, line_id: str) -> Line | None:
        return self._by_id.get(line_id)

    def known(self, line_id: str) -> Line:
        """The line a stored record names (a lead, a link, a call's URL). One since removed from
        LINES_FILE is answered for by the catch-all, or the first line: keys keep using the
        stored id, so its threads still work; only names and hours come from the stand-in."""
        return self._by_id.get(line_id) or self.catch_all or self.all[0]

    async def current(self, line_id: str) -> Line:
        """The line with the settings changed from Slack: templates, hours and time zone, closed
        days, window, pause, who is on call."""
        base = self.known(line_id)
        if self.config is None:
            return base
        now = self._monotonic()
        cached = self._cache.get(line_id)
        if cached is not None and now < cached[0]:
            return cached[1]
        line = overrides.apply(base, await self.config.overrides(line_id))
        self._cache[line_id] = (now + self.ttl, line)
        return line

    def forget(self, line_id: str) -> None:
        """After a change from this process: the next call reads Redis again."""
        self._cache.pop(line_id, None)

    # --- outbound webhooks: the one place that says who hears about a line -----------------
    def webhook_urls(self, line_id: str) -> tuple[str, ...]:
        """The URLs that get this line's events: its own from LINES_FILE, else the environment's
        WEBHOOK_URLS (a line since removed from the file: those of the line answering for it).
        Empty: no events at all."""
        return self.known(line_id).webhook_urls

    def using_webhook(self, url: str) -> list[Line]:
        """The lines whose events go to `url` (told in their channels when it is disabled)."""
        return [line for line in self.all if url in line.webhook_urls]

    def webhook_endpoints(self) -> list[str]:
        """Every URL some line sends to, in a stable order (`/textback webhook` numbers them)."""
        found: dict[str, None] = {}
        for line in self.all:
            found.update(dict.fromkeys(line.webhook_urls))
        return list(found)
