"""The crew's reply in a caller's thread goes out as a text from the business number.

Notes for the crew (`//`, a teammate mentioned) stay in Slack under a 🔒. With an undo window
(REPLY_UNDO_SECONDS) a reply waits under a ⏳ as a job held in the outbox's retry set
(storage/outbox.py): deleting the Slack message meanwhile drops it, editing it replaces the
words, and once the window closes the worker sends it (at most once, like every text). An edit
or deletion after that changes nothing, and the thread says so.
"""

from __future__ import annotations

import logging

from bot.domain import plans
from bot.domain.events import CrewDeletion, CrewEdit, CrewReply
from bot.domain.jobs import Job, LeadThread, Notice, Reaction, SlackMessage
from bot.services import Services
from storage.keys import DAY

log = logging.getLogger(__name__)

HELD_RECORD_SECONDS = DAY  # past the window: how long an edit or deletion can still be told apart

TOO_LATE_EDIT = (
    ":warning: That edit came after the undo window: the caller gets the reply as first "
    "written. Send another reply to correct it."
)
TOO_LATE_DELETE = (
    ":warning: That reply was deleted after the undo window: it had already gone to the caller."
)
CANCELLED = ":wastebasket: Deleted before it went out: the caller got nothing."
NOTE_EDITED = (
    ":lock: That edit stays in Slack: a note for the crew is never texted, even edited. Send "
    "a new reply to text the caller."
)


async def crew_reply(services: Services, reply: CrewReply) -> bool:
    """False when the thread is not a caller's (an ordinary conversation in the channel)."""
    lead = await services.threads.owner(reply.channel, reply.thread_ts)
    if lead is None:
        return False
    caller = await services.callers.caller(lead.phone, lead.line)
    undo = services.settings.reply_undo_seconds
    now, text = plans.plan_crew_reply(reply, lead, caller, held=undo > 0)
    if text is None or undo <= 0:
        await services.outbox.enqueue([*now, *([text] if text else [])])
        return True
    due = services.clock() + undo
    held = await services.outbox.hold(
        reply.channel, reply.ts, text, due, undo + HELD_RECORD_SECONDS, with_it=now
    )
    log.info("crew reply %s channel=%s ts=%s", held, reply.channel, reply.ts)
    return True


async def crew_edit(services: Services, edit: CrewEdit) -> None:
    """A crew message edited in Slack: inside the undo window the caller gets the new words
    (or nothing, when it became a note); after it, the thread says the edit came too late."""
    reply = edit.reply
    lead = await services.threads.owner(reply.channel, reply.thread_ts)
    if lead is None or not edit.changed:
        return  # not a caller's thread, or only Slack's own change (a link unfurled)
    key = f"{reply.channel}:{reply.ts}"
    if edit.was_internal:
        if not reply.internal and reply.text:
            await _tell(services, reply, f"note-edited:{key}", NOTE_EDITED)
        return
    ttl = services.settings.reply_undo_seconds + HELD_RECORD_SECONDS
    written = SlackMessage(reply.channel, reply.ts)
    locked = Job(f"react:{key}:{plans.STAYED_INSIDE}", Reaction(written, plans.STAYED_INSIDE))
    if reply.internal:  # it became a note: not texted, marked as kept inside
        unwait = Reaction(written, plans.WAITING, remove=True)
        marks = [Job(f"unreact:{key}:{plans.WAITING}", unwait), locked]
        # "delete": should its own event still come, it finds the reply cancelled.
        outcome = await services.outbox.change_held(
            reply.channel, reply.ts, "delete", ttl, with_it=marks
        )
    else:
        caller = await services.callers.caller(lead.phone, lead.line)
        business_number = caller.get("business_number")
        if not business_number or not reply.text:
            return
        edited = plans.crew_text(reply, lead, business_number, held=True)
        outcome = await services.outbox.change_held(
            reply.channel, reply.ts, "edit", ttl, replacement=edited
        )
    log.info("crew reply edited outcome=%s channel=%s ts=%s", outcome, reply.channel, reply.ts)
    if outcome == "gone":
        await _tell(services, reply, f"late-edit:{key}", TOO_LATE_EDIT)
    elif outcome == "unknown":
        undo = services.settings.reply_undo_seconds
        if await _went_out(services, lead, key):
            await _tell(services, reply, f"late-edit:{key}", TOO_LATE_EDIT)
        elif reply.internal:
            await services.outbox.enqueue([locked])
        elif undo > 0 and edit.seconds_after < undo:
            # Its own event has not come yet (Slack does not promise their order): hold the
            # words as they read now; the original, when it comes, finds them held.
            await crew_reply(services, reply)


async def crew_deletion(services: Services, deletion: CrewDeletion) -> None:
    """A crew message deleted in Slack: inside the undo window nothing is texted; after it,
    the thread says it had already gone."""
    if deletion.was_internal:
        return
    lead = await services.threads.owner(deletion.channel, deletion.thread_ts)
    if lead is None:
        return
    key = f"{deletion.channel}:{deletion.ts}"
    ttl = services.settings.reply_undo_seconds + HELD_RECORD_SECONDS
    notice = Notice(deletion.channel, CANCELLED, thread_ts=deletion.thread_ts)
    outcome = await services.outbox.change_held(
        deletion.channel, deletion.ts, "delete", ttl, with_it=[Job(f"undone:{key}", notice)]
    )
    log.info("crew reply deleted outcome=%s channel=%s ts=%s", outcome, *key.split(":", 1))
    if outcome == "gone" or (outcome == "unknown" and await _went_out(services, lead, key)):
        late = Notice(deletion.channel, TOO_LATE_DELETE, thread_ts=deletion.thread_ts)
        await services.outbox.enqueue([Job(f"late-delete:{key}", late)])


async def _went_out(services: Services, lead: LeadThread, key: str) -> bool:
    """The reply was texted (or a send of it began) without a hold: the undo window was off."""
    return await services.markers.sms_state(lead.phone, f"reply:{key}") in ("running", "done")


async def _tell(services: Services, reply: CrewReply, job_id: str, text: str) -> None:
    notice = Notice(reply.channel, text, thread_ts=reply.thread_ts)
    await services.outbox.enqueue([Job(job_id, notice)])
