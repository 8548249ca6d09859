"""A lead's bookkeeping: its state as the caller and the crew act, its counts, its card.

Reads and changes state through storage/leads.py with the domain's pure transitions
(bot/domain/leads.py). The card itself is re-rendered by a CardUpdate job from whatever the
state is when that job runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from redis.asyncio.client import Pipeline

from bot.domain import leads, reminders
from bot.domain.jobs import CardUpdate, Job, LeadThread, ThreadPost
from bot.domain.leads import LeadState
from bot.domain.line import Line
from bot.services import Services
from storage.callers import OpenedLead

log = logging.getLogger(__name__)


def local_day(line: Line, at: float) -> str:
    """The line's calendar day at `at`, in its time zone: what stats count by."""
    return datetime.fromtimestamp(at, line.timezone).strftime("%Y-%m-%d")


async def business_day(services: Services, line: str, at: float) -> str:
    """local_day in the time zone in effect: one set from Slack (`hours set … America/Chicago`)
    counts, as it does for the hours (Lines.current: kept per process for a second)."""
    return local_day(await services.lines.current(line), at)


async def queue_update(
    services: Services, phone: str, lead_id: str, version: int | None = None, crew: bool = False
) -> None:
    """Queue a card update unless one is already waiting in its lane (the waiting one renders
    the latest state when it runs). version: the lead's version when known (it names the job).
    crew: caused by the crew, so it takes the crew's lane of chat.update's budget."""
    store = services.leads
    if await store.queue_update_once(phone, lead_id, crew):
        if version is None:
            version = await store.version(phone, lead_id)
        # No phone number in the id: job ids reach the logs.
        job_id = f"update:{lead_id}:{version}" + (":crew" if crew else "")
        await services.outbox.enqueue([Job(job_id, CardUpdate(phone, lead_id, crew))])


async def changed(
    services: Services,
    phone: str,
    lead_id: str,
    change: tuple[LeadState, LeadState] | None,
    crew: bool = False,
) -> LeadState | None:
    """After a transition: the card update it needs, the day's counts it makes."""
    if change is None:
        return None
    before, after = change
    if after.ts or before.card_failed:
        await queue_update(services, phone, lead_id, after.version, crew)
    # else the card is not in Slack yet: it renders this state when it posts (the post
    # queues an update if the state moved on while it was on its way).
    await _count_firsts(services, phone, lead_id, before, after)
    return after


async def _count_firsts(
    services: Services, phone: str, lead_id: str, before: LeadState, after: LeadState
) -> None:
    """The day's claimed and booked counts, once per lead."""
    for state in ("claimed", "booked"):
        if (
            after.state == state
            and before.state != state
            and await services.leads.first_time(phone, lead_id, state)
        ):
            day = await business_day(services, after.line, services.clock())
            await services.stats.count(after.line, day, state)


def lead_opened(
    services: Services,
    pipe: Pipeline,
    phone: str,
    line: Line,
    lead_id: str,
    outcome: str,
    after_hours: bool,
    caller_name: str | None = None,
    business_number: str = "",
) -> None:
    """A missed call from a known number: the lead exists from now, and counts, once the
    pipe's owner executes it. line: as in effect (Lines.current)."""
    now = services.clock()
    day = local_day(line, now)
    names = ["missed"] + (["after_hours"] if after_hours else [])
    if outcome != "send":
        names.append(f"suppressed:{outcome}")
    services.leads.open_lead(
        pipe, phone, line.id, lead_id, day, now, *names, caller_name=caller_name
    )
    services.leads.note_call(pipe, phone, lead_id, now, business_number, outcome)


async def hidden_call(services: Services, line: str, after_hours: bool) -> None:
    """A call without caller ID: no lead, but it counts as missed and suppressed."""
    day = await business_day(services, line, services.clock())
    names = ["missed", "suppressed:hidden"] + (["after_hours"] if after_hours else [])
    await services.stats.count(line, day, *names)


async def count_texted(services: Services, pipe: Pipeline, line: str) -> None:
    """The day's auto-text count, on the pipeline that records the send."""
    day = await business_day(services, line, services.clock())
    services.stats.count_on(pipe, line, day, "texted")


async def auto_texted(services: Services, phone: str, lead_id: str) -> None:
    """The lead card moves to Texted (count_texted counts it)."""
    change = await services.leads.change(phone, lead_id, leads.auto_texted)
    await changed(services, phone, lead_id, change)


async def caller_texted(
    services: Services,
    phone: str,
    line: str,
    lead_id: str,
    urgent: bool,
    action: str = "message",
    business_number: str = "",
) -> tuple[LeadState, bool]:
    """Marks the lead replied (and urgent) and starts the reply clock; a STOP marks it opted
    out and stops the clock (nobody should text them back), a START puts it back. Returns the
    state, and whether this was the lead's first reply."""
    now = services.clock()
    store = services.leads
    current = await services.lines.current(line)  # hours and time zone may be set from Slack
    day = local_day(current, now)
    # STOP is not a reply: only a waiting text counts as the lead's first reply.
    waits = action == "message"
    before, first_reply = await store.open_and_get(
        phone,
        line,
        lead_id,
        day,
        now,
        first_time="replied" if waits else None,
        business_number=business_number,
    )
    transition = {"opt_out": leads.caller_opted_out, "opt_in": leads.caller_opted_in}.get(
        action, lambda lead: leads.caller_replied(lead, urgent)
    )
    change = await store.change(phone, lead_id, transition, before=before)
    await changed(services, phone, lead_id, change)
    if action == "opt_out":
        await store.stop_waiting(phone, line, lead_id, reminders.REMINDERS)
    if first_reply:
        await services.stats.count(line, day, "replied")
    lead = change[1] if change is not None else before
    if lead.open and waits:
        settings = services.settings
        due = reminders.schedule(now, settings.reply_sla_minutes, current.hours, current.timezone)
        await store.start_waiting(phone, line, lead_id, now, due)
    return lead, first_reply


@dataclass(frozen=True)
class TextOnLead:
    """A caller's text settled on its lead (caller_text_settled): what the flow plans from, and
    what is left for its final pipeline (the outbox, counts and reminders, in one round trip)."""

    lead: LeadState
    first_reply: bool
    first_place: int  # the first of the extra places reserved in the thread order
    finish: Callable[[Pipeline], None]


async def caller_text_settled(
    services: Services,
    phone: str,
    line: str,
    lead_id: str,
    opened: OpenedLead,
    urgent: bool,
    action: str,
    extra_places: int,
) -> TextOnLead:
    """caller_texted for a text whose claim opened the lead and read it (storage/callers.py):
    the transition is decided from that read and written with everything else on the caller's
    keys in one compare-and-set (LeadStore.settle_text); the rest goes on the caller's final
    pipeline (TextOnLead.finish). When another change came first, the transition is decided
    again from a fresh read, a step at a time, as caller_texted does."""
    now = services.clock()
    store = services.leads
    current = await services.lines.current(line)  # kept per process: no round trip when busy
    day = local_day(current, now)
    waits = action == "message"  # STOP is not a reply: it stops the clock instead
    transition = _caller_transition(action, urgent)
    before = opened.state
    after = transition(before)
    due = reminders.schedule(
        now, services.settings.reply_sla_minutes, current.hours, current.timezone
    )
    lead = after or before
    settled = await store.settle_text(
        phone,
        line,
        lead_id,
        read_version=None if after is None else before.version,
        changes={} if after is None else after.changes(),
        start_waiting=now if waits and lead.open else None,
        stop_waiting=action == "opt_out",
        extra_places=extra_places,
    )
    update: list[Job] = []
    started, stopped_since, first_place = False, None, settled.first_place
    if settled.applied:
        if after is not None:
            lead = replace(after, version=settled.version or 0)
            # START back to a claimed or booked lead: those count once per lead.
            await _count_firsts(services, phone, lead_id, before, lead)
        if settled.update_queued:
            update = [Job(f"update:{lead_id}:{settled.version}", CardUpdate(phone, lead_id))]
        started, stopped_since = settled.clock_started, settled.clock_stopped_since
    else:  # another change came first: decide again from what is there now, a step at a time
        change = await store.change(phone, lead_id, transition)
        await changed(services, phone, lead_id, change)
        lead = change[1] if change is not None else await store.get(phone, lead_id)
        if action == "opt_out":
            await store.stop_waiting(phone, line, lead_id, reminders.REMINDERS)
        if lead.open and waits:
            await store.start_waiting(phone, line, lead_id, now, due)
        places = [await services.callers.next_seq(phone, line) for _ in range(extra_places)]
        first_place = places[0] if places else 0
    counts = ["replied"] if opened.first_reply else []

    def finish(pipe: Pipeline) -> None:
        store.of_the_day(pipe, phone, line, lead_id, day, now)
        if counts:
            services.stats.count_on(pipe, line, day, *counts)
        if started:
            store.reminders_on(pipe, phone, line, lead_id, now, due)
        if stopped_since is not None:
            store.reminders_off(pipe, phone, line, lead_id, stopped_since, reminders.REMINDERS)
        services.outbox.add(pipe, update)

    return TextOnLead(lead, opened.first_reply, first_place, finish)


def _caller_transition(action: str, urgent: bool) -> Callable[[LeadState], LeadState | None]:
    return {"opt_out": leads.caller_opted_out, "opt_in": leads.caller_opted_in}.get(
        action, lambda lead: leads.caller_replied(lead, urgent)
    )


async def flag_urgent(services: Services, phone: str, lead_id: str) -> LeadState:
    """An urgent word arrived after the reply it belongs to (a voicemail's transcript): the
    card is flagged; the reply itself was already counted and started the clock."""
    change = await services.leads.change(
        phone, lead_id, lambda lead: leads.caller_replied(lead, urgent=True)
    )
    await changed(services, phone, lead_id, change)
    return change[1] if change is not None else await services.leads.get(phone, lead_id)


async def cannot_text(services: Services, lead: LeadThread, job_id: str, why: str) -> bool:
    """The caller can't get texts (a landline): the card says so with Call back first, the
    reminder clock starts now (they wait for a call, not for a text of theirs to be answered),
    and `why` goes in the thread. False when the lead was already known as one."""
    phone, lead_id = lead.phone, lead.lead_id
    change = await services.leads.change(phone, lead_id, leads.cannot_text)
    if change is None:
        return False
    await changed(services, phone, lead_id, change)
    now = services.clock()
    current = await services.lines.current(lead.line)
    due = reminders.schedule(
        now, services.settings.reply_sla_minutes, current.hours, current.timezone
    )
    await services.leads.start_waiting(phone, lead.line, lead_id, now, due)
    seq = await services.callers.next_seq(phone, lead.line)
    await services.outbox.enqueue([Job(job_id, ThreadPost(lead.at(seq), why))])
    return True


async def called_back(
    services: Services, phone: str, line: str, lead_id: str, user: str
) -> LeadState | None:
    """`user`'s call back reached the caller: the crew's answer, on the card and in the stats,
    and the lead's first answer when nobody answered before (what webhooks and the export say)."""
    change = await services.leads.change(phone, lead_id, lambda lead: leads.called_back(lead, user))
    await services.leads.called_back(phone, lead_id, services.clock(), user)
    await human_answered(services, phone, line, lead_id)
    return await changed(services, phone, lead_id, change, crew=True)


async def human_answered(services: Services, phone: str, line: str, lead_id: str) -> None:
    """A crew reply in the thread: the caller heard back, so the reminder clock stops."""
    now = services.clock()
    since = await services.leads.stop_waiting(phone, line, lead_id, reminders.REMINDERS)
    if since is not None:
        day = await business_day(services, line, now)
        await services.stats.response_time(line, day, max(0.0, now - since))
