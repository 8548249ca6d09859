"""Slack events through Bolt: crew replies in a caller's thread go out as SMS.

A crew message is parsed here into the domain's terms (a reply, a note that stays inside, an
edit, a deletion, each as Slack sends it) and handed to bot/flows/crew_replies.py. Bolt does
not dedupe Slack's retries (same event_id), so a middleware does. Every event gets a 2xx,
including the ones we ignore, or Slack keeps retrying them.
"""

from __future__ import annotations

import logging
from typing import Any, TypeGuard

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse

from bot.domain import slack_text
from bot.domain.events import CrewDeletion, CrewEdit, CrewReply
from bot.flows import crew_replies
from bot.services import Services

log = logging.getLogger(__name__)

# Message subtypes a person writes; every other subtype (joins, bots) is noise, and edits and
# deletions (message_changed, message_deleted) are read for the message they change.
HUMAN_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})


def _written(message: Any) -> TypeGuard[dict[str, Any]]:
    """A message a person wrote (not a bot's, not a system message)."""
    if not isinstance(message, dict) or message.get("bot_id"):
        return False
    subtype = message.get("subtype")
    return isinstance(subtype, str | None) and subtype in HUMAN_SUBTYPES


def _reply(message: dict[str, Any], channel: Any, bot_user_id: str | None) -> CrewReply | None:
    """A thread reply as the caller would read it, or None: not in a thread, or nothing in it."""
    ts, thread_ts = message.get("ts"), message.get("thread_ts")
    if not all(isinstance(v, str) and v for v in (ts, thread_ts, channel)) or ts == thread_ts:
        return None
    raw = message.get("text", "")
    if not isinstance(raw, str):
        return None  # a text that isn't a string is nothing a person wrote: never text it out
    raw = raw.strip()
    typed = slack_text.to_plain(raw)
    attached = message.get("files")
    files = len(attached) if isinstance(attached, list) else 0
    if not typed and not files:
        return None
    user = message.get("user")
    return CrewReply(
        channel=str(channel),
        ts=str(ts),
        thread_ts=str(thread_ts),
        text=slack_text.emojize(typed),
        files=files,
        internal=slack_text.stays_inside(raw, bot_user_id),
        typed=typed,
        user=user if isinstance(user, str) else "",
    )


def crew_reply_from(event: dict[str, Any], bot_user_id: str | None = None) -> CrewReply | None:
    """The reply (or internal note) in a message event, or None: not a thread reply, a bot."""
    if not _written(event):
        return None
    return _reply(event, event.get("channel"), bot_user_id)


def crew_edit_from(event: dict[str, Any], bot_user_id: str | None = None) -> CrewEdit | None:
    """A person's thread reply as edited (message_changed: `message` now, `previous_message`)."""
    now, before = event.get("message"), event.get("previous_message")
    if not _written(now) or not _written(before):
        return None
    reply = _reply(now, event.get("channel"), bot_user_id)
    previous = _reply(before, event.get("channel"), bot_user_id)
    if reply is None or previous is None or previous.ts != reply.ts:
        return None
    try:
        seconds_after = float(event.get("ts") or "") - float(reply.ts)
    except (TypeError, ValueError):
        seconds_after = float("inf")
    return CrewEdit(
        reply=reply,
        was_internal=previous.internal,
        changed=(previous.text, previous.internal) != (reply.text, reply.internal),
        seconds_after=seconds_after,
    )


def crew_deletion_from(
    event: dict[str, Any], bot_user_id: str | None = None
) -> CrewDeletion | None:
    """A person's thread reply deleted (message_deleted: `deleted_ts`, `previous_message`)."""
    before = event.get("previous_message")
    if not _written(before):
        return None
    previous = _reply(before, event.get("channel"), bot_user_id)
    if previous is None or previous.ts != event.get("deleted_ts"):
        return None
    return CrewDeletion(previous.channel, previous.ts, previous.thread_ts, previous.internal)


async def dedupe_retries(
    services: Services, body: dict[str, Any], next: Any
) -> BoltResponse | None:
    """Bolt middleware: a retried event_id answers 200 without running a listener again."""
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


async def on_message(services: Services, event: dict[str, Any], context: AsyncBoltContext) -> None:
    bot_user_id = context.bot_user_id  # from auth.test: mentioning the bot is no note
    subtype = event.get("subtype")
    if subtype == "message_changed":
        edit = crew_edit_from(event, bot_user_id)
        if edit is not None:
            await crew_replies.crew_edit(services, edit)
    elif subtype == "message_deleted":
        deletion = crew_deletion_from(event, bot_user_id)
        if deletion is not None:
            await crew_replies.crew_deletion(services, deletion)
    else:
        reply = crew_reply_from(event, bot_user_id)
        if reply is not None and await crew_replies.crew_reply(services, reply):
            log.info("crew message taken channel=%s ts=%s", reply.channel, reply.ts)


async def acknowledge_the_rest() -> None:
    """The catch-all, registered last: any event no other listener took (edits, joins, event
    types we subscribe to but don't act on) gets its 200, so Slack doesn't retry it."""
