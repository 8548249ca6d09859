"""A call: missed (the one auto-text and the lead card), answered, or from a hidden number.

Reads the store once (one atomic decision), asks the domain what must happen, queues it.
Nothing here calls Slack or Twilio: the worker does that from the outbox.
"""

from __future__ import annotations

import logging
import uuid

from bot.domain import oncall, plans
from bot.domain import ringing as ringing_rules
from bot.domain.events import MissedCall
from bot.domain.jobs import Job, LeadThread, LineTypeLookup
from bot.domain.line import Line
from bot.domain.phone import masked
from bot.flows import intake, leads
from bot.flows import webhooks as webhook_flows
from bot.services import Services

log = logging.getLogger(__name__)

LANDLINE_NOTE = (
    ":phone: This number is a landline (Twilio Lookup said so, or a text to it failed with "
    "30006 within 30 days): no auto-text was sent, and the caller heard that we'll call back "
    "shortly. Tap *Call back* on the card."
)


async def missed_call(services: Services, call: MissedCall) -> str:
    """Returns the outcome: send, excluded, opted_out, window, paused, hidden, duplicate, or
    unlisted (a number no line lists, without a catch-all)."""
    outbox = services.outbox
    listed = await line_for(services, call.business_number)
    if listed is None:
        return "unlisted"
    # With the settings changed from Slack: templates, hours, window, pause.
    line = await services.lines.current(listed.id)
    after_hours = not line.hours.is_open(call.at.astimezone(line.timezone))
    if call.caller is None:
        if not await services.calls.record_outcome(None, call.call_sid, "hidden"):
            return "duplicate"
        await outbox.enqueue(plans.plan_hidden_call(call, line))
        await leads.hidden_call(services, line.id, after_hours)
        _count(services, line.id, "hidden")
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
            line,
            claim.lead_id,
            claim.outcome,
            after_hours,
            caller_name=call.caller_name,
            business_number=call.business_number,
        )
    link = None
    if claim.outcome == "send" and line.intake_link == "page":
        link = intake.new_link(services, pipe, call.caller, line.id, claim.lead_id)
    waits = services.settings.card_waits_for_text_seconds
    planned = plans.plan_missed_call(
        call,
        claim,
        line,
        link=link,
        card_waits=waits > 0,
        on_call=oncall.on_call(line, call.at.timestamp()),
    )
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
    if claim.outcome == "landline" and not claim.duplicate:
        lead = LeadThread(call.caller, line.id, claim.lead_id, line.channel_id)
        await leads.cannot_text(services, lead, f"landline:{call.call_sid}", LANDLINE_NOTE)
    if not claim.duplicate:
        _count(services, line.id, claim.outcome)
        log.info(
            "missed call sid=%s from=%s outcome=%s",
            call.call_sid,
            masked(call.caller),
            claim.outcome,
        )
    return claim.outcome


async def answered_call(services: Services, caller: str | None, call_sid: str) -> None:
    await services.calls.record_outcome(caller, call_sid, "answered")


async def ringing(services: Services, call: MissedCall) -> None:
    """A call comes in and the crew's phones ring: with LOOKUP_LINE_TYPE, look the caller's
    line type up now (a job: never inline in a webhook), so the answer is there when the ring
    ends. Known numbers (30 days) and one already being looked up queue nothing."""
    if not services.settings.lookup_line_type or call.caller is None:
        return
    if await services.calls.want_line_type(call.caller):
        job = Job(f"lookup:{call.call_sid}", LineTypeLookup(call.caller))
        await services.outbox.enqueue([job])


async def leg_answered(services: Services, parent_call_sid: str, crew_phone: str) -> None:
    """A crew phone answered and hears the screening prompt (a key press may follow)."""
    await services.calls.leg_answered(parent_call_sid, crew_phone)


async def ring_again(services: Services, call_sid: str, line: Line) -> tuple[str, ...]:
    """After a round a phone answered without a key press (a voicemail): the phones to ring
    in the next round (bot/domain/ringing.py); empty: the call is missed."""
    silent = await services.calls.answered_legs(call_sid)
    if not silent or not await services.calls.new_round(call_sid, len(silent)):
        return ()
    return ringing_rules.next_round(line.forward_to, silent)


async def line_for(services: Services, business_number: str) -> Line | None:
    """The line for a business number; None (and a warning, and a note /textback status shows)
    when no line lists it and there is no catch-all."""
    line = services.lines.for_number(business_number)
    if line is None:
        log.warning("call or text to a number no line lists: %s", business_number)
        await services.records.unlisted_number(business_number, services.clock())
    return line


def _count(services: Services, line: str, outcome: str) -> None:
    services.metrics.missed_calls.labels(line).inc()
    services.metrics.autotexts.labels(line, outcome).inc()


def new_id() -> str:
    """A new lead's id."""
    return uuid.uuid4().hex[:16]
