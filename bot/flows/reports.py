"""Stats card, weekly digest and App Home: read counters, summarise (bot/stats.py), render."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from bot.domain import cards, slack_text, stats
from bot.domain.jobs import Job, Notice
from bot.flows.leads import business_day
from bot.services import Services

log = logging.getLogger(__name__)

DIGEST_HOURS = range(8, 12)  # Monday morning, business time; a later start waits a week


async def summary(services: Services, days: int, last: date | None = None) -> stats.Summary:
    if last is None:
        last = datetime.fromtimestamp(services.clock(), services.settings.timezone).date()
    dates = stats.day_range(last, days)
    rows = await services.stats.days([d.isoformat() for d in dates])
    return stats.summarise(
        [stats.Day(d, counts, tuple(times)) for d, (counts, times) in zip(dates, rows, strict=True)]
    )


async def stats_card(services: Services, days: int) -> tuple[str, list[dict[str, Any]]]:
    return stats.render(await summary(services, days), f"Textback · last {days} days")


async def maybe_post_digest(services: Services) -> bool:
    """From the worker's maintenance loop: on Monday morning, one process posts last week."""
    if not services.settings.weekly_digest:
        return False
    local = datetime.fromtimestamp(services.clock(), services.settings.timezone)
    if local.weekday() != 0 or local.hour not in DIGEST_HOURS:
        return False
    year, week, _ = local.isocalendar()
    if not await services.stats.first_for_week(f"{year}-W{week:02d}"):
        return False
    last_week = await summary(services, 7, local.date() - timedelta(days=1))
    if not last_week.totals["missed"]:
        return False  # a quiet week: nothing worth a post in the channel
    text, blocks = stats.render(last_week, "Textback · last week")
    digest = Notice(services.settings.slack_channel_id, text, blocks=blocks)
    await services.outbox.enqueue([Job(f"digest:{year}-W{week:02d}", digest)])
    log.info("weekly digest queued week=%s-W%02d", year, week)
    return True


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
    """App Home: today's open leads and the settings that shape them."""
    settings = services.settings
    today = business_day(services, services.clock())
    store = services.leads
    lines = []
    for phone, _line, lead_id in await store.leads_of_day(today):
        lead = await store.get(phone, lead_id)
        if lead.open:
            link = f"<tel:{phone}|{phone}>"
            lines.append(f"• {link} · {cards.state_label(lead)}")
    line = await services.lines.current_by_id(services.lines.default.id)  # with Slack's changes
    configured = (
        f"Hours: {line.hours.describe()} ({line.timezone.key})\n"
        f"Reply reminder after {settings.reply_sla_minutes:g} business minutes\n"
        f"Claim {', '.join(settings.claim_emoji)} · book {', '.join(settings.book_emoji)} · "
        f"close {', '.join(settings.close_emoji)}\n"
        f"Weekly digest: {'on' if settings.weekly_digest else 'off'}"
    )
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Today's open leads"}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _fit_lines(lines) or "No open leads today."},
            },
            {"type": "header", "text": {"type": "plain_text", "text": "Settings"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": configured}},
        ],
    }
