"""Slack events through Bolt: crew replies in a caller's thread go out as SMS.

Bolt does not dedupe Slack's retries (same event_id), so a middleware does. Every event gets a
2xx, including the ones we ignore, or Slack keeps retrying them.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.domain.events import CrewReply
from bot.domain.slack_text import to_plain
from bot.flows import crew_replies
from bot.services import Services

log = logging.getLogger(__name__)

# Message subtypes a person writes; every other subtype (edits, deletions, joins, bots) is noise.
HUMAN_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
INTERNAL_NOTE = "//"


def crew_reply_from(event: dict[str, Any]) -> CrewReply | None:
    """The SMS-worthy reply in an event, or None: not in a thread, a bot, a note, an edit."""
    subtype = event.get("subtype")
    if event.get("bot_id") or not isinstance(subtype, str | None) or subtype not in HUMAN_SUBTYPES:
        return None
    ts, thread_ts, channel = event.get("ts"), event.get("thread_ts"), event.get("channel")
    if not all(isinstance(v, str) and v for v in (ts, thread_ts, channel)) or ts == thread_ts:
        return None
    raw = event.get("text", "")
    if not isinstance(raw, str) or raw.strip().startswith(INTERNAL_NOTE):
        return None  # a text that isn't a string is nothing a person wrote: never text it out
    text = to_plain(raw.strip())
    attached = event.get("files")
    files = len(attached) if isinstance(attached, list) else 0
    if not text and not files:
        return None
    user = event.get("user")
    return CrewReply(
        channel=str(channel),
        ts=str(ts),
        thread_ts=str(thread_ts),
        text=text,
        files=files,
        user=user if isinstance(user, str) else "",
    )


def register(bolt: AsyncApp, services: Services) -> None:
    @bolt.middleware
    async def dedupe_retries(body: dict[str, Any], next: Any) -> BoltResponse | None:
        event_id = body.get("event_id")
        if not event_id:
            return await next()  # type: ignore[no-any-return]
        if not await services.records.first_slack_event(str(event_id)):
            return BoltResponse(status=200, body="")
        response: BoltResponse = await next()
        if response is not None and response.status >= 500:
            # We did not store it: forget the id so Slack's retry gets another chance.
            await services.records.forget_slack_event(str(event_id))
        return response

    @bolt.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        reply = crew_reply_from(event)
        if reply is not None and await crew_replies.crew_reply(services, reply):
            log.info("crew reply queued channel=%s ts=%s", reply.channel, reply.ts)

    @bolt.event(re.compile(".*"))
    async def acknowledge_the_rest() -> None:
        """reaction_added and anything else we subscribe to: 200, so Slack doesn't retry."""
