"""What happens to a lead card when the crew or the caller acts.

Orchestration like bot/flows.py: read/change state through storage/leads.py, plan with the pure
modules (bot/leads.py, bot/cards.py, bot/reminders.py), queue Slack work on the outbox. The card
itself is re-rendered by a slack.update job from whatever the state is when that job runs.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from bot.domain import jobs, leads, reminders, slack_text
from bot.domain.jobs import Job, Lead
from bot.domain.leads import Action, LeadState
from bot.domain.phone import masked
from bot.services import Services
from storage.leads import LeadStore

if TYPE_CHECKING:
    from redis.asyncio.client import Pipeline

log = logging.getLogger(__name__)


def lead_store(services: Services) -> LeadStore:
    return services.leads


def business_day(services: Services, at: float) -> str:
    return datetime.fromtimestamp(at, services.settings.timezone).strftime("%Y-%m-%d")


def update_card(phone: str, lead_id: str, version: int, crew: bool = False) -> Job:
    """crew: caused by the crew (a button, a reaction), so it takes the crew's lane of
    chat.update's budget and never waits behind a burst of callers' changes."""
    return Job(
        # No phone number: job ids reach the logs.
        id=f"update:{lead_id}:{version}" + (":crew" if crew else ""),
        kind="slack.update",
        data={"phone": phone, "lead_id": lead_id, **({"crew": True} if crew else {})},
    )


async def queue_update(
    services: Services, phone: str, lead_id: str, version: int | None = None, crew: bool = False
) -> None:
    """version: the lead's version when known (it only names the job)."""
    store = lead_store(services)
    if await store.queue_update_once(phone, lead_id, crew):
        if version is None:
            version = await store.version(phone, lead_id)
        await services.outbox.enqueue([update_card(phone, lead_id, version, crew)])


async def _changed(
    services: Services,
    phone: str,
    lead_id: str,
    change: tuple[LeadState, LeadState] | None,
    crew: bool = False,
) -> LeadState | None:
    if change is None:
        return None
    before, after = change
    store = lead_store(services)
    if after.ts or before.card_failed:
        await queue_update(services, phone, lead_id, after.version, crew)
    # else the card is not in Slack yet: it renders this state when it posts (post_ordered
    # queues an update if the state moved on while it was on its way).
    day = business_day(services, services.clock())
    for state in ("claimed", "booked"):
        if (
            after.state == state
            and before.state != state
            and await store.first_time(phone, lead_id, state)
        ):
            await store.count(day, state)
    return after


# --- the crew: buttons and reactions ----------------------------------------------------------


async def crew_action(
    services: Services, phone: str, line: str, lead_id: str, action: Action, user: str
) -> LeadState | None:
    store = lead_store(services)
    change = await store.change(phone, lead_id, lambda lead: leads.apply(lead, action, user))
    after = await _changed(services, phone, lead_id, change, crew=True)
    if after is not None:
        log.info("lead %s by=%s from=%s", action, user, masked(phone))
        if not after.open:
            await store.stop_waiting(phone, line, lead_id, reminders.REMINDERS)
    return after


async def crew_undo(
    services: Services, phone: str, lead_id: str, action: Action, user: str
) -> LeadState | None:
    store = lead_store(services)
    change = await store.change(phone, lead_id, lambda lead: leads.undo(lead, action, user))
    return await _changed(services, phone, lead_id, change, crew=True)


async def exclude(services: Services, phone: str, line: str, user: str) -> None:
    await services.store.exclude(phone, line, f"excluded from the lead card by <@{user}>")
    log.info("number excluded from card by=%s number=%s", user, masked(phone))


async def human_answered(services: Services, phone: str, line: str, lead_id: str) -> None:
    """A crew reply in the thread: the caller heard back, so the reminder clock stops."""
    now = services.clock()
    store = lead_store(services)
    since = await store.stop_waiting(phone, line, lead_id, reminders.REMINDERS)
    if since is not None:
        await store.response_time(business_day(services, now), max(0.0, now - since))


# --- the caller -------------------------------------------------------------------------------


async def lead_opened(
    services: Services,
    phone: str,
    line: str,
    lead_id: str,
    outcome: str,
    after_hours: bool,
    pipe: Pipeline | None = None,
) -> None:
    """A missed call from a known number: the lead exists from now, and counts (with `pipe`,
    when its owner executes it)."""
    now = services.clock()
    day = business_day(services, now)
    names = ["missed"] + (["after_hours"] if after_hours else [])
    if outcome != "send":
        names.append(f"suppressed:{outcome}")
    await lead_store(services).open_lead(phone, line, lead_id, day, now, *names, pipe=pipe)


async def hidden_call(services: Services, after_hours: bool) -> None:
    """A call without caller ID: no lead, but it counts as missed and suppressed."""
    day = business_day(services, services.clock())
    names = ["missed", "suppressed:hidden"] + (["after_hours"] if after_hours else [])
    await lead_store(services).count(day, *names)


def count_texted(services: Services, pipe: Pipeline) -> None:
    """The day's auto-text count, on the pipeline that records the send."""
    day = business_day(services, services.clock())
    lead_store(services).count_on(pipe, day, "texted")


async def auto_texted(services: Services, phone: str, lead_id: str) -> None:
    """The lead card moves to Texted (count_texted counts it)."""
    store = lead_store(services)
    await _changed(services, phone, lead_id, await store.change(phone, lead_id, leads.auto_texted))


async def caller_texted(
    services: Services, phone: str, line: str, lead_id: str, urgent: bool, waits: bool = True
) -> LeadState:
    """Marks the lead replied (and urgent), starts the reply clock; returns the state."""
    now = services.clock()
    store = lead_store(services)
    day = business_day(services, now)
    # STOP is not a reply: only a waiting text counts as the lead's first reply.
    before, first_reply = await store.open_and_get(
        phone, line, lead_id, day, now, first_time="replied" if waits else None
    )
    change = await store.change(
        phone, lead_id, lambda lead: leads.caller_replied(lead, urgent), before=before
    )
    await _changed(services, phone, lead_id, change)
    if first_reply:
        await store.count(day, "replied")
    lead = change[1] if change is not None else before
    if lead.open and waits:
        settings = services.settings
        current = await services.lines.current_by_id(line)  # hours may be set from Slack
        due = reminders.schedule(now, settings.reply_sla_minutes, current.hours, current.timezone)
        await store.start_waiting(phone, line, lead_id, now, due)
    return lead


async def urgent_post(
    services: Services,
    phone: str,
    line: str,
    lead_id: str,
    channel: str,
    message_sid: str,
    lead: LeadState,
) -> Job:
    """A channel-visible reply in the thread (reply_broadcast) pinging the claimer or @here."""
    seq = await services.store.next_seq(phone, line)
    text = (
        f":rotating_light: {leads.mention(lead)} *Urgent* text from "
        f"{slack_text.escape(phone)}: see the thread."
    )
    post = jobs.post_in_thread(
        f"urgent:{message_sid}",
        Lead(phone=phone, line=line, lead_id=lead_id, seq=seq),
        channel,
        text,
    )
    post.data["broadcast"] = True
    return post


async def fire_due_reminders(services: Services) -> int:
    """Called by the worker's maintenance loop: post each reminder that came due."""
    store = lead_store(services)
    fired = 0
    for due in await store.due_reminders(services.clock()):
        phone, lead_id, n = due["phone"], due["lead_id"], int(due["n"])
        waiting = await store.waiting_since(phone, lead_id)
        if waiting is not None and f"{float(waiting):.3f}" == due["since"]:
            lead = await store.get(phone, lead_id)
            if lead.open and lead.channel:
                text = reminders.text(
                    n, services.settings.reply_sla_minutes * 1, leads.mention(lead)
                )
                job = jobs.post_notice(
                    f"remind:{lead_id}:{due['since']}:{n}",
                    lead.channel,
                    text,
                    phone=phone,
                    lead_id=lead_id,
                )
                await services.outbox.enqueue([job])  # its id makes a second enqueue harmless
                fired += 1
        await store.drop_reminder(due)
    return fired
