"""The three things that happen: a call was missed, a caller texted, the crew replied.

Each flow reads the store once (an atomic decision), asks the pure core what must happen, and
queues it. Nothing here calls Slack or Twilio: the worker does that from the outbox.
"""

from __future__ import annotations

import logging
import uuid

from bot.domain import consent, jobs, keywords, urgency
from bot.domain import plans as textback
from bot.domain.jobs import Lead
from bot.domain.phone import masked
from bot.domain.plans import CrewReply, InboundText, MissedCall
from bot.flows import intake as consent_flows
from bot.flows import leads as lead_flows
from bot.services import Services
from storage.store import Claim

log = logging.getLogger(__name__)


async def missed_call(services: Services, call: MissedCall) -> str:
    """Returns the outcome: send, excluded, opted_out, window, paused, hidden or duplicate."""
    store, outbox = services.store, services.outbox
    # With the settings changed from Slack: templates, hours, window, pause.
    line = await services.lines.current(call.business_number)
    if call.caller is None:
        if not await store.record_call_outcome(None, call.call_sid, "hidden"):
            return "duplicate"
        await outbox.enqueue(textback.plan_hidden_call(call, line))
        after_hours = not line.hours.is_open(call.at.astimezone(line.timezone))
        await lead_flows.hidden_call(services, after_hours)
        _count(services, "hidden")
        return "hidden"
    claim = await store.claim_missed_call(
        phone=call.caller,
        line=line.id,
        call_sid=call.call_sid,
        business_number=call.business_number,
        now=call.at.timestamp(),
        window_seconds=line.window_seconds,
        lead_seconds=line.lead_seconds,
        new_lead_id=_new_id(),
        paused=line.paused_at(call.at.timestamp()),
    )
    if _settled(claim) or "lead_id" not in claim.record:
        # Queued already, or settled without a lead (answered): a late callback changes nothing.
        return "duplicate"
    # Everything after the decision goes in one round trip: the lead and its counts, the intake
    # link, then the jobs. One server runs them in that order; a cluster runs each node's share
    # in order, the nodes side by side (the link is written well before a caller can tap it).
    pipe = services.redis.pipeline(transaction=False)
    if not claim.duplicate:
        after_hours = not line.hours.is_open(call.at.astimezone(line.timezone))
        await lead_flows.lead_opened(
            services, call.caller, line.id, claim.lead_id, claim.outcome, after_hours, pipe=pipe
        )
    link = None
    if claim.outcome == "send" and not line.intake_url:
        link = await consent_flows.new_intake_link(
            services, call.caller, line.id, claim.lead_id, pipe=pipe
        )
    waits = services.settings.card_waits_for_text_seconds
    planned = textback.plan_missed_call(call, claim, line, link=link, card_waits=waits > 0)
    outbox.add(pipe, planned, claim_key=claim.key)
    for job in planned:
        card = jobs.then_of(job)
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
    await services.store.record_call_outcome(caller, call_sid, "answered")


async def inbound_text(services: Services, text: InboundText) -> None:
    line = services.lines.for_number(text.business_number)
    claim = await services.store.record_inbound_sms(
        phone=text.caller,
        line=line.id,
        message_sid=text.message_sid,
        business_number=text.business_number,
        action=text.action,
        posts=text.posts,
        now=text.at.timestamp(),
        lead_seconds=line.lead_seconds,
        new_lead_id=_new_id(),
        body=text.body,
        source=f"keyword:{keywords.normalise(text.body) or text.action}",
        twilio_answered=text.twilio_answered,
    )
    if _settled(claim):
        return
    confirm = services.settings.opt_out_confirmation == "app"
    urgent = text.action == "message" and urgency.is_urgent(text.body)
    lead = await lead_flows.caller_texted(
        services, text.caller, line.id, claim.lead_id, urgent, waits=text.action == "message"
    )
    planned = textback.plan_inbound_text(
        text, claim, line, confirm_opt_out=confirm, claimer=lead.claimer or None
    )
    if urgent:
        planned.append(
            await lead_flows.urgent_post(
                services,
                text.caller,
                line.id,
                claim.lead_id,
                line.channel_id,
                text.message_sid,
                lead,
            )
        )
    phrase = consent.opt_out_phrase(text.body) if text.action == "message" else None
    if phrase and not claim.record.get("was_opted_out"):
        # After the message and its photos: a place at the end of the thread's order.
        seq = await services.store.next_seq(text.caller, line.id)
        flagged = Lead(phone=text.caller, line=line.id, lead_id=claim.lead_id, seq=seq)
        planned.append(consent.opt_out_flag(flagged, line.channel_id, text.message_sid, phrase))
    await services.outbox.enqueue(planned, claim_key=claim.key)
    log.info("text in sid=%s from=%s action=%s", text.message_sid, masked(text.caller), text.action)


async def crew_reply(services: Services, reply: CrewReply) -> bool:
    """False when the thread is not a caller's (an ordinary conversation in the channel)."""
    owner = await services.store.thread_owner(reply.channel, reply.thread_ts)
    if owner is None:
        return False
    if reply.text:  # a photo alone never reaches the caller: they still wait for an answer
        await lead_flows.human_answered(services, owner.phone, owner.line, owner.lead_id)
    caller = await services.store.caller(owner.phone, owner.line)
    line = services.lines.by_id(owner.line)
    await services.outbox.enqueue(textback.plan_crew_reply(reply, owner.phone, caller, line))
    return True


def _settled(claim: Claim) -> bool:
    """A redelivery whose jobs are already queued. One whose first delivery died before queueing
    is planned again: job ids are derived from the webhook, so nothing is sent twice."""
    return claim.duplicate and claim.enqueued


def _count(services: Services, outcome: str) -> None:
    services.metrics.missed_calls.inc()
    services.metrics.autotexts.labels(outcome).inc()


def _new_id() -> str:
    return uuid.uuid4().hex[:16]
