"""A caller's text: relayed into their thread, STOP/START/HELP first, urgent ones flagged.

We never answer a caller's text ourselves except STOP/START/HELP: this is not a chatbot.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from bot.domain import consent, keywords, oncall, plans, slack_text, urgency
from bot.domain.events import Claim, InboundText
from bot.domain.jobs import Job, LeadThread, Place, ThreadPost
from bot.domain.leads import LeadState, mention
from bot.domain.phone import masked
from bot.domain.webhooks import EventType
from bot.flows import leads
from bot.flows import webhooks as webhook_flows
from bot.flows.calls import line_for, new_id
from bot.services import Services

log = logging.getLogger(__name__)


async def inbound_text(services: Services, text: InboundText) -> None:
    """Three round trips for a new text: the claim (dedupe, STOP/START first, the lead opened and
    read), the lead's transition by compare-and-set, and the final pipeline with the rest (the
    line's overrides are kept per process and cost none on a busy line). A retried
    MessageSid whose jobs are queued costs one: the claim."""
    line = await line_for(services, text.business_number)
    if line is None:
        return  # a number no line lists: no answer, and no thread to put it in
    claim, opened = await services.callers.record_inbound_sms(
        phone=text.caller,
        line=line.id,
        message_sid=text.message_sid,
        business_number=text.business_number,
        action=text.action,
        posts=text.posts,
        now=text.at.timestamp(),
        lead_seconds=line.lead_seconds,
        new_lead_id=new_id(),
        body=text.body,
        source=f"keyword:{keywords.normalise(text.body) or text.action}",
        twilio_answered=text.twilio_answered,
    )
    if claim.settled:
        return
    was_opted_out = bool(claim.record.get("was_opted_out"))
    text = replace(text, action=keywords.effective(text.action, was_opted_out))
    confirm = services.settings.opt_out_confirmation == "app"
    urgent = text.action == "message" and urgency.is_urgent(text.body)
    phrase = consent.opt_out_phrase(text.body) if text.action == "message" else None
    flag_opt_out = bool(phrase) and not was_opted_out
    # The urgent ping, then the opt-out flag: places at the end of the thread's order, after
    # the message and its photos (the claim reserved those).
    extra_places = int(urgent) + int(flag_opt_out)
    if opened is not None:
        settled = await leads.caller_text_settled(
            services, text.caller, line.id, claim.lead_id, opened, urgent, text.action, extra_places
        )
        lead, first_reply, finish = settled.lead, settled.first_reply, settled.finish
        places = iter(range(settled.first_place, settled.first_place + extra_places))
    else:  # a redelivery whose first delivery died before queueing: the old steps, one by one
        lead, first_reply = await leads.caller_texted(
            services,
            text.caller,
            line.id,
            claim.lead_id,
            urgent,
            action=text.action,
            business_number=text.business_number,
        )
        finish = None
        places = iter(
            [await services.callers.next_seq(text.caller, line.id) for _ in range(extra_places)]
        )
    # Who is on call comes from Slack (`/textback oncall`): the line as in effect, kept per
    # process for a second, so this costs no round trip on a busy line.
    on_call = oncall.on_call(await services.lines.current(line.id), text.at.timestamp())
    planned = plans.plan_inbound_text(
        text, claim, line, confirm_opt_out=confirm, claimer=lead.claimer or None, on_call=on_call
    )
    thread = LeadThread(text.caller, line.id, claim.lead_id, line.channel_id)
    if urgent:
        planned.append(_urgent_post(thread.at(next(places)), text.message_sid, lead, on_call))
    if phrase and flag_opt_out:
        planned.append(consent.opt_out_flag(thread.at(next(places)), text.message_sid, phrase))
    # One round trip: the lead's counts and reminders, the events (a new lead's wait for its
    # card, planned here), the jobs, and the claim's "enqueued" last.
    pipe = services.redis.pipeline(transaction=False)
    if finish is not None:
        finish(pipe)
    events = _events(services, text, claim, line.id, first_reply)
    webhook_flows.add(services, pipe, events, card_on_its_way=claim.new_lead)
    services.outbox.add(pipe, planned, claim_key=claim.key)
    await pipe.execute()
    log.info("text in sid=%s from=%s action=%s", text.message_sid, masked(text.caller), text.action)


def _events(
    services: Services, text: InboundText, claim: Claim, line: str, first_reply: bool
) -> list[Job]:
    """What the line's webhook receivers hear of this text (nothing when it has none)."""
    if not services.lines.webhook_urls(line):
        return []
    sid = text.message_sid
    message = {
        "direction": "inbound",
        "kind": "text",  # or "voicemail" (bot/flows/voicemail.py)
        "sid": sid,
        "text": text.body,
        "keyword": None if text.action == "message" else text.action,
        # Links that work without our Twilio credentials (handlers/media.py serves them).
        "media": webhook_flows.media_links(services, text.media),
    }

    def event(event_type: EventType, **facts: Any) -> Job | None:
        return webhook_flows.event(
            services,
            event_type,
            line=line,
            cause=sid,
            phone=text.caller,
            lead_id=claim.lead_id,
            at=text.at.timestamp(),
            **facts,
        )

    found = []
    if claim.new_lead:
        found.append(event("lead.created", source="text"))
    found.append(event("message.received", message=message))
    if first_reply:
        found.append(event("lead.replied", message=message))
    was_opted_out = bool(claim.record.get("was_opted_out"))
    consent = {"source": f"keyword:{keywords.normalise(text.body) or text.action}"}
    if text.action == "opt_out" and not was_opted_out:
        found.append(event("consent.opted_out", consent=consent))
    if text.action == "opt_in":  # only a caller who had opted out (keywords.effective)
        found.append(event("consent.opted_in", consent=consent))
    return webhook_flows.some(*found)


def _urgent_post(place: Place, message_sid: str, lead: LeadState, on_call: str | None) -> Job:
    """A channel-visible reply in the thread (broadcast) pinging the claimer, the person on
    call, or @here."""
    text = (
        f":rotating_light: {mention(lead, on_call)} *Urgent* text from "
        f"{slack_text.escape(place.lead.phone)}: see the thread."
    )
    return Job(f"urgent:{message_sid}", ThreadPost(place, text, broadcast=True))
