"""A call: missed (the one auto-text and the lead card), answered, or from a hidden number.

Reads the store once (one atomic decision), asks the domain what must happen, queues it.
Nothing here calls Slack or Twilio: the worker does that from the outbox.
"""

from __future__ import annotations

import logging
import uuid

from bot.domain import plans
from bot.domain.events import MissedCall
from bot.domain.phone import masked
from bot.flows import intake, leads
from bot.flows import webhooks as webhook_flows
from bot.services import Services

log = logging.getLogger(__name__)


async def missed_call(services: Services, call: MissedCall) -> str:
    """Returns the outcome: send, excluded, opted_out, window, paused, hidden or duplicate."""
    outbox = services.outbox
    # With the settings changed from Slack: templates, hours, window, pause.
    line = await services.lines.current(call.business_number)
    after_hours = not line.hours.is_open(call.at.astimezone(line.timezone))
    if call.caller is None:
        if not await services.calls.record_outcome(None, call.call_sid, "hidden"):
            return "duplicate"
        await outbox.enqueue(plans.plan_hidden_call(call, line))
        await leads.hidden_call(services, after_hours)
        _count(services, "hidden")
        return "hidden"
    claim = await services.calls.claim_missed_call(
        phone=call.caller,
        line=line.id,
        call_sid=call.call_sid,
        business_number=call.business_number,
        now=call.at.timestamp(),
        window_seconds=line.window_seconds,
        lead_seconds=line.lead_seconds,
        new_lead_id=new_id(),
        paused=line.paused_at(call.at.timestamp()),
    )
    if claim.settled or "lead_id" not in claim.record:
        # Queued already, or settled without a lead (answered): a late callback changes nothing.
        return "duplicate"
    # Everything after the decision goes in one round trip: the lead and its counts, the intake
    # link, then the jobs. One server runs them in that order; a cluster runs each node's share
    # in order, the nodes side by side (the link is written well before a caller can tap it).
    pipe = services.redis.pipeline(transaction=False)
    if not claim.duplicate:
        leads.lead_opened(
            services,
            pipe,
            call.caller,
            line.id,
            claim.lead_id,
            claim.outcome,
            after_hours,
            business_number=call.business_number,
            caller_name=call.caller_name,
        )
    link = None
    if claim.outcome == "send" and not line.intake_url:
        link = intake.new_link(services, pipe, call.caller, line.id, claim.lead_id)
    waits = services.settings.card_waits_for_text_seconds
    planned = plans.plan_missed_call(call, claim, line, link=link, card_waits=waits > 0)
    created = None
    if claim.new_lead:  # told once the card is up (it waits for it), with the auto-text's outcome
        created = webhook_flows.event(
            services,
            "lead.created",
            line=line.id,
            cause=call.call_sid,
            phone=call.caller,
            lead_id=claim.lead_id,
            at=call.at.timestamp(),
            source="missed_call",
        )
    # A new lead's card is planned here: its events wait for it (to carry the thread's link).
    webhook_flows.add(services, pipe, webhook_flows.some(created), card_on_its_way=True)
    outbox.add(pipe, planned, claim_key=claim.key)
    for job in planned:
        card = getattr(job.payload, "then", None)
        if card is not None:  # the SMS worker queues it; this timer, if that never happens
            outbox.add_later(pipe, card, services.clock() + waits)
    await pipe.execute()
    if not claim.duplicate:
        _count(services, claim.outcome)
        log.info(
            "missed call sid=%s from=%s outcome=%s",
            call.call_sid,
            masked(call.caller),
            claim.outcome,
        )
    return claim.outcome


async def answered_call(services: Services, caller: str | None, call_sid: str) -> None:
    await services.calls.record_outcome(caller, call_sid, "answered")


def _count(services: Services, outcome: str) -> None:
    services.metrics.missed_calls.inc()
    services.metrics.autotexts.labels(outcome).inc()


def new_id() -> str:
    """A new lead's id."""
    return uuid.uuid4().hex[:16]
