"""Keeping a lead card in Slack up to date, within chat.update's budget (Tier 3)."""

from __future__ import annotations

import logging

from bot.domain import cards
from bot.domain.jobs import CardUpdate, Job
from bot.flows import leads
from bot.outbox import slack_api
from bot.outbox.errors import Retry
from bot.outbox.pacing import take_turn
from bot.services import Services

log = logging.getLogger(__name__)

CREW_UPDATE_SHARE = 0.4  # of SLACK_UPDATES_PER_SECOND, kept for card updates the crew caused


async def update_card(services: Services, job: Job, update: CardUpdate) -> None:
    """Re-render a lead card from its state now, so retries and concurrent changes converge.

    Updates never hold a worker while chat.update's budget (Tier 3) is spent: an update takes
    its place in the schedule and waits for it on the retry schedule, so thread posts are not
    starved behind them and a backlog of updates doesn't ask for a place again and again.
    The crew's changes have a lane of their own (CREW_UPDATE_SHARE of the budget): a claim
    shows in seconds even behind a burst of callers' replies, each of which updates a card."""
    phone, lead_id, crew = update.phone, update.lead_id, update.crew
    store = services.leads
    lead = await store.get(phone, lead_id)
    if not lead.ts:
        if lead.card_failed:
            await store.update_taken(phone, lead_id, crew)
            return
        raise Retry("lead card not posted yet", after=1.0)
    if lead.version <= lead.rendered:
        # Most often the card was posted after the change and shows it: no need to wait for
        # chat.update's budget to find that out.
        await store.update_taken(phone, lead_id, crew)
        if not await store.stale(phone, lead_id):
            return
    pace = f"update:{lead.channel}" + (":crew" if crew else "")
    share = CREW_UPDATE_SHARE if crew else 1 - CREW_UPDATE_SHARE
    await take_turn(services, job, pace, services.settings.slack_updates_per_second * share)
    await store.update_taken(phone, lead_id, crew)  # from here, a change queues a new update
    lead = await store.get(phone, lead_id)
    if lead.version <= lead.rendered:
        return  # the card already shows this (it was posted or updated after the change)
    try:
        await slack_api.call(
            services,
            pace,
            "chat_update",
            channel=lead.channel,
            ts=lead.ts,
            text=cards.fallback_text(lead),
            blocks=cards.blocks(lead, services.settings.reply_undo_seconds),
        )
    except slack_api.Permanent as exc:
        log.error("card update failed job=%s error=%s", job.id, exc)
        await services.records.note_error(f"Slack: {exc}")
        return
    await store.rendered(phone, lead_id, lead.version)
    if await store.version(phone, lead_id) != lead.version:
        # Changed while we rendered: its update may have found us busy; make sure one follows.
        await leads.queue_update(services, phone, lead_id, crew=crew)
