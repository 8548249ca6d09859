"""Apply the settings changed from Slack (a line's config hash) to the environment's line. Pure.

A value that no longer reads (written by an older version, or by hand) is skipped and the
default stays: a bad override must never stop calls from being handled.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain import closed_days, oncall
from bot.domain.closed_days import ClosedDays, ClosedDaysError
from bot.domain.hours import BusinessHours, HoursError
from bot.domain.line import Line
from bot.domain.templates import KINDS

CLOSED = "closed:"  # a closed-days field: closed:<2026-12-24..2026-12-26> -> its note

log = logging.getLogger(__name__)


def apply(line: Line, raw: Mapping[str, str]) -> Line:
    if not raw:
        return line
    changed: set[str] = set()
    texts: dict[str, str] = {
        kind: raw[f"template:{kind}"] for kind in KINDS if raw.get(f"template:{kind}")
    }
    versions: dict[str, int] = {
        kind: int(raw[f"template:{kind}:version"])
        for kind in KINDS
        if raw.get(f"template:{kind}:version", "").isdigit()
    }
    changed |= {f"template:{kind}" for kind in texts}
    hours, timezone = line.hours, line.timezone
    if "hours" in raw:
        try:
            hours = BusinessHours.parse(raw["hours"])
            changed.add("hours")
        except HoursError:
            log.warning("ignoring unreadable hours override line=%s", line.id)
    if "timezone" in raw:
        try:
            timezone = ZoneInfo(raw["timezone"])
            changed.add("timezone")
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("ignoring unknown timezone override line=%s", line.id)
    window = line.window_seconds
    hours_value = _number(raw.get("window_hours"))
    if hours_value is not None and 0 < hours_value < math.inf:
        window = hours_value * 3600
        changed.add("window")
    paused_until = _number(raw.get("paused_until"))
    closed = line.closed + _closed(line, raw)
    rota = line.on_call
    if "oncall" in raw:
        rota = oncall.load(raw["oncall"])
        if rota:
            changed.add("oncall")
        else:
            log.warning("ignoring unreadable on-call override line=%s", line.id)
            rota = line.on_call
    return replace(
        line,
        hours=replace(hours, closed=closed_days.ranges(closed)),
        closed=closed,
        on_call=rota,
        timezone=timezone,
        window_seconds=window,
        templates=texts,
        template_versions=versions,
        paused_until=paused_until,
        overridden=frozenset(changed),
    )


def _closed(line: Line, raw: Mapping[str, str]) -> tuple[ClosedDays, ...]:
    found: list[ClosedDays] = []
    for name, note in raw.items():
        if not name.startswith(CLOSED):
            continue
        try:
            first, last = closed_days.parse_range(name.removeprefix(CLOSED))
        except ClosedDaysError:
            log.warning("ignoring unreadable closed days line=%s", line.id)
            continue
        found.append(ClosedDays(first, last, note))
    return tuple(sorted(found, key=lambda c: (c.first, c.last)))


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return None if math.isnan(number) else number
