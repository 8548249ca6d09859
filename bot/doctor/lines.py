"""The lines: every line's texts (with what was changed from Slack) pass the template guard, and
no number that called or texted us lately is missing from every line."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from redis.exceptions import RedisError

from bot.doctor.report import Finding, fail, ok, warn
from bot.domain import template_guard, templates
from bot.domain.line import DEFAULT_LINE, Line
from bot.lines import Lines
from storage.health import ServiceRecords

LABELS = {"business": "business", "after_hours": "after-hours", "repeat": "repeat"}


def texts_finding(line: Line, public_url: str, several: bool) -> Finding:
    """Each of the line's three texts, as a caller would get it at its longest."""
    link = line.intake_url or template_guard.placeholder_link(public_url)
    values = template_guard.worst_case(line.business_name, link)
    subject = f"texts (line {line.id})" if several else "texts"
    refused: list[str] = []
    sizes: list[str] = []
    for kind in templates.KINDS:
        text = line.templates.get(kind) or templates.default_for(kind, linked=True)
        verdict = template_guard.check(text, values)
        if verdict.preview is not None:
            sizes.append(f"{LABELS[kind]} {verdict.preview.info.segments}")
        if not verdict.ok:
            source = "set in Slack" if kind in line.templates else "the default"
            refused.append(f"{LABELS[kind]} ({source}): {'; '.join(verdict.reasons)}")
    if refused:
        name = "BUSINESS_NAME" if line.id == DEFAULT_LINE else f'line "{line.id}"\'s name'
        where = "" if line.id == DEFAULT_LINE or not several else f"{line.id} "
        return fail(
            subject,
            " | ".join(refused),
            f"`/textback {where}template edit` in Slack; a default text fails only with a long "
            f"name or link: shorten {name} or the intake link",
        )
    return ok(subject, f"all three pass the template guard (segments: {', '.join(sizes)})")


def unlisted_finding(unlisted: Sequence[tuple[str, float]], now: float) -> Finding:
    if not unlisted:
        return ok("unlisted numbers", "every number that called or texted lately has a line")
    shown = ", ".join(
        f"{number} ({(now - at) / 86_400:.0f} days ago)" for number, at in unlisted[-5:]
    )
    return warn(
        "unlisted numbers",
        f"called or texted in the last 30 days, but no line lists them: {shown}",
        "add them to a line in LINES_FILE (or set BUSINESS_NAME and SLACK_CHANNEL_ID for a "
        "catch-all line); until then callers hear a goodbye and get no text",
    )


async def check(
    lines: Lines,
    records: ServiceRecords | None,
    public_url: str,
    found: list[Finding],
    *,
    redis_wait: float,
) -> None:
    """Each line as changed from Slack (read from Redis, for at most `redis_wait` seconds); as
    configured when Redis can't say, or when there is none yet (records None: serve will start
    its own, empty)."""
    current: list[Line] = list(lines.all)
    unlisted: list[tuple[str, float]] | None = None
    if records is not None:
        try:
            async with asyncio.timeout(redis_wait):
                current = [await lines.current(line.id) for line in lines.all]
                unlisted = await records.unlisted_numbers()
        except (TimeoutError, RedisError, OSError):
            pass  # the Redis section says why
    for line in current:
        found.append(texts_finding(line, public_url, lines.several))
    if unlisted is not None:
        found.append(unlisted_finding(unlisted, time.time()))
    elif records is not None:
        found.append(
            warn(
                "changes from Slack",
                "not read (Redis didn't answer): the texts above are the configured ones, and "
                "numbers no line lists are not known",
                "see the Redis section, then run the doctor again",
            )
        )
