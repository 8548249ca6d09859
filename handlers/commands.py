"""The /textback slash command. Answers are ephemeral and come back within Slack's 3 s."""

from __future__ import annotations

from typing import Any

from redis.exceptions import RedisError
from slack_bolt.async_app import AsyncApp

from bot.services import Services

COMMAND = "/textback"

HELP = """*/textback* — missed-call text-back
• `/textback status` — what is configured, Redis health, queue depth, last error
• `/textback help` — this list
Reply in a caller's thread to text them.
Start a thread message with `//` for a note the caller never sees."""


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


def register(bolt: AsyncApp, services: Services) -> None:
    @bolt.command(COMMAND)
    async def textback(ack: Any, command: dict[str, Any]) -> None:
        words = str(command.get("text") or "").split()
        verb = words[0].lower() if words else "help"
        if verb == "status":
            await ack(text=await status_text(services))
        elif verb == "help":
            await ack(text=HELP)
        else:
            await ack(text=f"I don't know `{verb}` yet.\n{HELP}")
