"""`/textback status`: what is in effect, Redis and Twilio health, queue depth, last error, and
the doctor's Slack and Twilio wiring lines (bot/doctor/wiring.py)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from redis.exceptions import RedisError

from bot import wiring as live
from bot.doctor import wiring
from bot.domain import oncall, slack_wiring, templates
from bot.domain.line import Line
from bot.domain.when import describe
from bot.services import Services
from handlers.slack.commands.hours import describe_hours
from handlers.slack.commands.invocation import AfterAck, Invocation
from handlers.slack.commands.pause import describe_pause
from handlers.slack.commands.template import LABELS


async def twilio_health(services: Services) -> str:
    """A cheap authenticated GET of our own account: proves the credentials and the API."""
    return await live.twilio_account(services.twilio, services.settings.twilio_account_sid)


async def status_text(services: Services, line: Line | None = None, wiring_lines: str = "") -> str:
    """The line's settings in effect (every line's, when none is given), then the service's
    health: Redis, Twilio, the queues, the last error, the wiring, numbers no line lists."""
    twilio = asyncio.create_task(twilio_health(services))
    shown = [line] if line is not None else list(services.lines.all)
    try:
        await services.redis.ping()
        current = [await services.lines.current(each.id) for each in shown]
        depth = await services.outbox.depth()
        last_error = await services.records.last_error()
        unlisted = await services.records.unlisted_numbers()
        refusing = await services.holds.broken()
        held = sum((await services.holds.counts()).values())
        buried = sum((await services.outbox.dead_counts()).values())
        redis_state = "ok"
    except RedisError as exc:
        current, depth, last_error, unlisted = shown, {}, None, []
        refusing, held, buried = [], 0, 0
        redis_state = f"unreachable ({type(exc).__name__})"
    queues = ", ".join(f"{name} {count}" for name, count in depth.items()) or "unknown"
    rows = ["\n\n".join(_line_status(services, each) for each in current)]
    rows += [
        f"Redis: {redis_state} · Twilio: {await twilio} · queued jobs: {queues}",
        f"Last error: {last_error or 'none'}",
        *([wiring_lines] if wiring_lines else []),
    ]
    for broken in refusing:
        since = datetime.fromtimestamp(broken.since, services.lines.all[0].timezone)
        where = f"<#{broken.channel}>" if broken.channel else "every channel"
        rows.append(
            f":rotating_light: Slack refuses our posts to {where} since {describe(since)} "
            f"({slack_wiring.in_words(broken.error)}): {held} held, delivered once it is fixed."
        )
    if buried:
        rows.append(
            f":warning: {buried} job{'' if buried == 1 else 's'} given up on: "
            "`python -m bot outbox dead` lists them."
        )
    if unlisted:
        numbers = ", ".join(number for number, _ in unlisted[-5:])
        rows.append(
            f":warning: Calls or texts to numbers no line lists (last 30 days): {numbers}. "
            "Add them to a line in LINES_FILE (or set BUSINESS_NAME and SLACK_CHANNEL_ID for a "
            "catch-all line); until then callers hear a goodbye and get no text."
        )
    return "\n".join(rows)


def _line_status(services: Services, line: Line) -> str:
    forward = ", ".join(line.forward_to) or "none (every call is missed and texted at once)"
    texts = ", ".join(
        f"{LABELS[kind]} "
        + (
            f"set in Slack (v{line.template_versions.get(kind, 1)})"
            if kind in line.templates
            else "default"
        )
        for kind in templates.KINDS
    )
    window = "set in Slack" if "window" in line.overridden else "default"
    numbers = f" · {', '.join(line.numbers)}" if line.numbers else ""
    heading = f"*{line.business_name}* · <#{line.channel_id}>{numbers}"
    if services.lines.several:
        catch_all = services.lines.catch_all
        heading += f" · line `{line.id}`" + (
            " (catch-all)" if catch_all is not None and catch_all.id == line.id else ""
        )
    return "\n".join(
        [
            heading,
            describe_hours(services, line),
            f"Rings: {forward} for {line.ring_seconds} s"
            + (" with call screening" if line.screen_calls and line.forward_to else ""),
            describe_pause(line, services.clock()),
            f"On call: {oncall.describe(line.on_call)} (`/textback oncall`)",
            f"One auto-text per caller per {line.window_seconds / 3600:g} h ({window}); "
            f"threads reused for {line.lead_seconds / 86_400:g} days",
            f"Texts: {texts} (`/textback template show`)",
        ]
    )


async def status(invocation: Invocation) -> str | AfterAck:
    """The kept wiring report at once; a stale one is checked again after the ack (no Slack
    call may sit before it) and the new lines follow through response_url."""
    services = invocation.services
    found = await wiring.kept(services)
    if found is not None and found[2]:
        shown = wiring.render(services, found[0], found[1], refreshing=False)
        return await status_text(services, invocation.line, shown)
    shown = (
        wiring.render(services, found[0], found[1], refreshing=True) if found else wiring.CHECKING
    )
    text = await status_text(services, invocation.line, shown)

    async def checked_again() -> str:
        sections, at = await wiring.refresh(services)
        return wiring.render(services, sections, at, refreshing=False)

    return AfterAck(text, checked_again)
