"""`/textback status`: what is configured, Redis health, queue depth, last error."""

from __future__ import annotations

from redis.exceptions import RedisError

from bot.services import Services
from handlers.commands import Invocation, subcommand


async def status_text(services: Services) -> str:
    settings = services.settings
    line = services.lines.default
    try:
        await services.redis.ping()
        depth = await services.outbox.depth()
        last_error = await services.store.last_error()
        redis_state = "ok"
    except RedisError as exc:
        depth, last_error, redis_state = {}, None, f"unreachable ({type(exc).__name__})"
    forward = ", ".join(line.forward_to) or "none (every call is missed and texted at once)"
    queues = ", ".join(f"{name} {count}" for name, count in depth.items()) or "unknown"
    return "\n".join(
        [
            f"*{line.business_name}* · <#{line.channel_id}>",
            f"Hours: {line.hours.describe()} ({settings.business_timezone})",
            f"Rings: {forward} for {line.ring_seconds} s"
            + (" with call screening" if line.screen_calls and line.forward_to else ""),
            f"One auto-text per caller per {settings.textback_window_hours:g} h; "
            f"threads reused for {settings.lead_thread_days:g} days",
            f"Redis: {redis_state} · queued jobs: {queues}",
            f"Last error: {last_error or 'none'}",
        ]
    )


@subcommand("status", "status", "what is configured, Redis health, queue depth, last error")
async def status(invocation: Invocation) -> str:
    return await status_text(invocation.services)
