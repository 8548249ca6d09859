"""Stats card, weekly digest and App Home: read counters, summarise (domain/stats.py), render."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from bot.domain import cards, oncall, slack_text, stats
from bot.domain.jobs import Job, Notice
from bot.domain.line import DEFAULT_LINE
from bot.flows.leads import business_day
from bot.services import Services

log = logging.getLogger(__name__)

DIGEST_HOURS = range(8, 12)  # Monday morning, business time; a later start waits a week


async def summary(
    services: Services, line_ids: list[str], days: int, last: date | None = None
) -> stats.Summary:
    """The last `days` days of these lines, each counted by its own calendar (added up day by
    day when there are several). last: the final day (default: today on each line's clock)."""
    combined: list[stats.Day] = []
    for line_id in line_ids:
        zone = (await services.lines.current(line_id)).timezone  # a zone set from Slack counts
        end = last or datetime.fromtimestamp(services.clock(), zone).date()
        dates = stats.day_range(end, days)
        rows = await services.stats.days(line_id, [d.isoformat() for d in dates])
        found = [stats.Day(d, c, tuple(t)) for d, (c, t) in zip(dates, rows, strict=True)]
        combined = (
            found if not combined else [_add(a, b) for a, b in zip(combined, found, strict=True)]
        )
    return stats.summarise(combined)


def _add(day: stats.Day, other: stats.Day) -> stats.Day:
    counts = dict(day.counts)
    for name, count in other.counts.items():
        counts[name] = counts.get(name, 0) + count
    return stats.Day(day.day, counts, day.response_seconds + other.response_seconds)


async def stats_card(
    services: Services, line_ids: list[str], days: int, title: str = "Textback"
) -> tuple[str, list[dict[str, Any]]]:
    return stats.render(await summary(services, line_ids, days), f"{title} · last {days} days")


async def maybe_post_digest(services: Services) -> int:
    """From the worker's maintenance loop: on Monday morning (each line's own), one process
    posts last week's figures in each line's channel. Returns how many it queued."""
    if not services.settings.weekly_digest:
        return 0
    posted = 0
    for base in services.lines.all:
        line = await services.lines.current(base.id)  # Monday morning in a zone set from Slack
        local = datetime.fromtimestamp(services.clock(), line.timezone)
        if local.weekday() != 0 or local.hour not in DIGEST_HOURS:
            continue
        year, week, _ = local.isocalendar()
        iso_week = f"{year}-W{week:02d}"
        if not await services.stats.first_for_week(line.id, iso_week):
            continue
        last_week = await summary(services, [line.id], 7, local.date() - timedelta(days=1))
        if not last_week.totals["missed"]:
            continue  # a quiet week: nothing worth a post in the channel
        title = "Textback · last week" + (
            f" · {line.business_name}" if services.lines.several else ""
        )
        text, blocks = stats.render(last_week, title)
        job_id = f"digest:{iso_week}" if line.id == DEFAULT_LINE else f"digest:{line.id}:{iso_week}"
        await services.outbox.enqueue([Job(job_id, Notice(line.channel_id, text, blocks=blocks))])
        log.info("weekly digest queued line=%s week=%s", line.id, iso_week)
        posted += 1
    return posted


def _fit_lines(lines: list[str], limit: int = slack_text.MAX_SECTION_TEXT) -> str:
    """As many whole lines as fit one section block, then how many did not: Slack refuses the
    whole view past 3,000 characters, and a busy day has more open leads than that."""
    shown: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        more = f"…and {len(lines) - index} more (see the channel)"
        if used + len(line) + 1 + len(more) > limit:
            return "\n".join([*shown, more])
        shown.append(line)
        used += len(line) + 1
    return "\n".join(shown)


async def home_view(services: Services) -> dict[str, Any]:
    """App Home: today's open leads, by line, and the settings that shape them."""
    settings = services.settings
    now = services.clock()
    today = {line.id: await business_day(services, line.id, now) for line in services.lines.all}
    by_line: dict[str, list[str]] = {line.id: [] for line in services.lines.all}
    for day in sorted(set(today.values())):
        for phone, line_id, lead_id in await services.leads.leads_of_day(day):
            if today.get(line_id, day) != day:
                continue  # another line's today
            lead = await services.leads.get(phone, lead_id)
            if lead.open:
                link = f"<tel:{phone}|{phone}>"
                by_line.setdefault(line_id, []).append(f"• {link} · {cards.state_label(lead)}")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Today's open leads"}}
    ]
    several = services.lines.several
    for line in services.lines.all:
        shown = by_line.get(line.id, [])
        if several and shown:
            shown = [f"*{slack_text.inline(line.business_name)}* (<#{line.channel_id}>)", *shown]
        if shown:
            blocks.append(
                {"type": "section", "text": {"type": "mrkdwn", "text": _fit_lines(shown)}}
            )
    if len(blocks) == 1:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": "No open leads today."}}
        )
    hours = []
    for base in services.lines.all:
        line = await services.lines.current(base.id)  # with Slack's changes
        name = f"{slack_text.inline(line.business_name)}: " if several else ""
        hours.append(f"{name}Hours: {line.hours.describe()} ({line.timezone.key})")
        person = oncall.on_call(line, now)
        if any(line.on_call):
            hours.append(f"{name}On call today: " + (f"<@{person}>" if person else "nobody"))
    configured = "\n".join(hours) + (
        f"\nReply reminder after {settings.reply_sla_minutes:g} business minutes\n"
        f"Claim {', '.join(settings.claim_emoji)} · book {', '.join(settings.book_emoji)} · "
        f"close {', '.join(settings.close_emoji)}\n"
        f"Weekly digest: {'on' if settings.weekly_digest else 'off'}"
    )
    blocks += [
        {"type": "header", "text": {"type": "plain_text", "text": "Settings"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": configured}},
    ]
    return {"type": "home", "blocks": blocks}
