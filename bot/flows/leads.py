"""A lead's bookkeeping: its state as the caller and the crew act, its counts, its card.

Reads and changes state through storage/leads.py with the domain's pure transitions
(bot/domain/leads.py). The card itself is re-rendered by a CardUpdate job from whatever the
state is when that job runs.
"""

from __future__ import annotations

import logging
from datetime import datetime

from redis.asyncio.client import Pipeline

from bot.domain import leads, reminders
from bot.domain.jobs import CardUpdate, Job
from bot.domain.leads import LeadState
from bot.services import Services

log = logging.getLogger(__name__)


def business_day(services: Services, at: float) -> str:
    return datetime.fromtimestamp(at, services.settings.timezone).strftime("%Y-%m-%d")


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
    day = business_day(services, services.clock())
    for state in ("claimed", "booked"):
        if (
            after.state == state
            and before.state != state
            and await services.leads.first_time(phone, lead_id, state)
        ):
            await services.stats.count(day, state)
    return after


def lead_opened(
    services: Services,
    pipe: Pipeline,
    phone: str,
    line: str,
    lead_id: str,
    outcome: str,
    after_hours: bool,
    business_number: str = "",
    caller_name: str | None = None,
) -> None:
    """A missed call from a known number: the lead exists from now, and counts, once the
    pipe's owner executes it."""
    now = services.clock()
    day = business_day(services, now)
    names = ["missed"] + (["after_hours"] if after_hours else [])
    if outcome != "send":
        names.append(f"suppressed:{outcome}")
    services.leads.open_lead(pipe, phone, line, lead_id, day, now, *names)
    services.leads.note_call(pipe, phone, lead_id, now, business_number, caller_name, outcome)


async def hidden_call(services: Services, after_hours: bool) -> None:
    """A call without caller ID: no lead, but it counts as missed and suppressed."""
    day = business_day(services, services.clock())
    names = ["missed", "suppressed:hidden"] + (["after_hours"] if after_hours else [])
    await services.stats.count(day, *names)


def count_texted(services: Services, pipe: Pipeline) -> None:
    """The day's auto-text count, on the pipeline that records the send."""
    services.stats.count_on(pipe, business_day(services, services.clock()), "texted")


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
    waits: bool = True,
    business_number: str = "",
) -> tuple[LeadState, bool]:
    """Marks the lead replied (and urgent), starts the reply clock; returns the state, and
    whether this was the lead's first reply."""
    now = services.clock()
    store = services.leads
    day = business_day(services, now)
    # STOP is not a reply: only a waiting text counts as the lead's first reply.
    before, first_reply = await store.open_and_get(
        phone,
        line,
        lead_id,
        day,
        now,
        first_time="replied" if waits else None,
        business_number=business_number,
    )
    change = await store.change(
        phone, lead_id, lambda lead: leads.caller_replied(lead, urgent), before=before
    )
    await changed(services, phone, lead_id, change)
    if first_reply:
        await services.stats.count(day, "replied")
    lead = change[1] if change is not None else before
    if lead.open and waits:
        settings = services.settings
        current = await services.lines.current_by_id(line)  # hours may be set from Slack
        due = reminders.schedule(now, settings.reply_sla_minutes, current.hours, current.timezone)
        await store.start_waiting(phone, line, lead_id, now, due)
    return lead, first_reply


async def human_answered(services: Services, phone: str, line: str, lead_id: str) -> None:
    """A crew reply in the thread: the caller heard back, so the reminder clock stops."""
    now = services.clock()
    since = await services.leads.stop_waiting(phone, line, lead_id, reminders.REMINDERS)
    if since is not None:
        await services.stats.response_time(business_day(services, now), max(0.0, now - since))
