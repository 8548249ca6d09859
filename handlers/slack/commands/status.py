"""`/textback status`: what is in effect, Redis and Twilio health, queue depth, last error."""

from __future__ import annotations

import asyncio

import aiohttp
from redis.exceptions import RedisError
from twilio.base.exceptions import TwilioRestException

from bot.domain import templates
from bot.services import Services
from handlers.slack.commands.hours import describe_hours
from handlers.slack.commands.invocation import Invocation
from handlers.slack.commands.pause import describe_pause
from handlers.slack.commands.template import LABELS

TWILIO_TIMEOUT = 2.0  # seconds; the answer must reach Slack within 3 s


async def twilio_health(services: Services) -> str:
    """A cheap authenticated GET of our own account: proves the credentials and the API."""
    sid = services.settings.twilio_account_sid
    try:
        account = await asyncio.wait_for(
            services.twilio.api.v2010.accounts(sid).fetch_async(), TWILIO_TIMEOUT
        )
    except TwilioRestException as exc:
        if exc.status == 401:
            return "credentials refused (check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)"
        return f"error {exc.status} (code {exc.code})"
    except TimeoutError:
        return f"no answer within {TWILIO_TIMEOUT:g} s"
    except aiohttp.ClientError as exc:
        return f"unreachable ({type(exc).__name__})"
    return "ok" if account.status == "active" else f"account {account.status}"


async def status_text(services: Services) -> str:
    line = services.lines.default
    twilio = asyncio.create_task(twilio_health(services))
    try:
        await services.redis.ping()
        line = await services.lines.current_by_id(line.id)
        depth = await services.outbox.depth()
        last_error = await services.records.last_error()
        redis_state = "ok"
    except RedisError as exc:
        depth, last_error, redis_state = {}, None, f"unreachable ({type(exc).__name__})"
    forward = ", ".join(line.forward_to) or "none (every call is missed and texted at once)"
    queues = ", ".join(f"{name} {count}" for name, count in depth.items()) or "unknown"
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
    return "\n".join(
        [
            f"*{line.business_name}* · <#{line.channel_id}>",
            describe_hours(services, line),
            f"Rings: {forward} for {line.ring_seconds} s"
            + (" with call screening" if line.screen_calls and line.forward_to else ""),
            describe_pause(line, services.clock()),
            f"One auto-text per caller per {line.window_seconds / 3600:g} h ({window}); "
            f"threads reused for {line.lead_seconds / 86_400:g} days",
            f"Texts: {texts} (`/textback template show`)",
            f"Redis: {redis_state} · Twilio: {await twilio} · queued jobs: {queues}",
            f"Last error: {last_error or 'none'}",
        ]
    )


async def status(invocation: Invocation) -> str:
    return await status_text(invocation.services)
