"""The crew acts on a lead card: a button or a reaction claims, books, closes or excludes it,
and the "Record opt-out" button under an opt-out-like text records the opt-out."""

from __future__ import annotations

import logging
from typing import Any

from bot.domain import consent, leads
from bot.domain.jobs import Job, LeadThread, Notice
from bot.domain.leads import Action, LeadState
from bot.domain.phone import masked
from bot.domain.reminders import REMINDERS
from bot.domain.webhooks import EventType
from bot.flows import webhooks as webhook_flows
from bot.flows.leads import changed
from bot.services import Services

log = logging.getLogger(__name__)

_EVENTS: dict[Action, EventType] = {
    "claim": "lead.claimed",
    "book": "lead.booked",
    "close": "lead.closed",
}


async def act(services: Services, lead: LeadThread, action: Action, user: str) -> LeadState | None:
    store = services.leads
    now = services.clock()
    change = await store.change(
        lead.phone,
        lead.lead_id,
        lambda state: leads.stamped(state, leads.apply(state, action, user), now),
    )
    after = await changed(services, lead.phone, lead.lead_id, change, crew=True)
    if after is not None:
        log.info("lead %s by=%s from=%s", action, user, masked(lead.phone))
        await _told(services, lead, _EVENTS[action], after, user)
        if not after.open:
            await store.stop_waiting(lead.phone, lead.line, lead.lead_id, REMINDERS)
    return after


async def undo(services: Services, lead: LeadThread, action: Action, user: str) -> LeadState | None:
    now = services.clock()
    change = await services.leads.change(
        lead.phone,
        lead.lead_id,
        lambda state: leads.stamped(state, leads.undo(state, action, user), now),
    )
    after = await changed(services, lead.phone, lead.lead_id, change, crew=True)
    if after is not None:
        await _told(services, lead, "lead.reopened", after, user, undone=action)
    return after


async def _told(
    services: Services,
    lead: LeadThread,
    event_type: EventType,
    after: LeadState,
    user: str,
    undone: Action | None = None,
) -> None:
    """The line's webhook receivers hear of the change (named by the version it made)."""
    facts: dict[str, Any] = {"by": user}
    if undone:
        facts["undone"] = undone
    await webhook_flows.queue(
        services,
        webhook_flows.event(
            services,
            event_type,
            line=lead.line,
            cause=f"{lead.lead_id}:{after.version}",
            phone=lead.phone,
            lead_id=lead.lead_id,
            **facts,
        ),
    )


async def exclude(services: Services, lead: LeadThread, user: str) -> None:
    """The card's Exclude button: the number never gets an auto-text again; the lead closes."""
    note = f"excluded from the lead card by <@{user}>"
    await services.callers.exclude(lead.phone, lead.line, note)
    log.info("number excluded from card by=%s number=%s", user, masked(lead.phone))
    await act(services, lead, "close", user)


async def record_opt_out(
    services: Services,
    *,
    phone: str,
    line: str,
    user_id: str,
    channel: str,
    thread_ts: str,
    sid: str,
) -> bool:
    """The crew's "Record opt-out" button: flag and ledger entry at once; a note in the thread.
    False when the number had already opted out."""
    recorded = await services.callers.record_opt_out(
        phone,
        line,
        services.clock(),
        source=f"crew:{user_id}",
        message="recorded from Slack after an opt-out-like text",
        message_sid=sid,
    )
    note = consent.crew_opt_out_note(user_id, recorded)
    job_id = f"crew-opt-out:{sid}:{user_id}:{int(recorded)}"
    told = None
    if recorded and services.lines.webhook_urls(line):
        lead = await services.threads.owner(channel, thread_ts)
        told = webhook_flows.event(
            services,
            "consent.opted_out",
            line=line,
            cause=f"crew:{sid}",
            phone=phone,
            lead_id=lead.lead_id if lead else None,
            consent={"source": "crew", "message_sid": sid},
            by=user_id,
        )
    notice = Job(job_id, Notice(channel, note, thread_ts=thread_ts))
    await services.outbox.enqueue([notice, *webhook_flows.some(told)])
    log.info("crew opt-out to=%s by=%s recorded=%s", masked(phone), user_id, recorded)
    return recorded
