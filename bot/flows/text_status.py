"""A text we sent did not arrive, or did not go out: the crew hears about it where they look.

Twilio reports a failure after the send (carrier filtering, an unreachable handset, an opt-out)
in the text's status callback; a send refused outright is reported by the sms worker. Either
way the note goes where the text was about: the lead's thread or the crew reply's thread.
"""

from __future__ import annotations

import logging

from bot.domain import twilio_errors
from bot.domain.jobs import Job, LeadThread, Notice, Reaction, SentText, SlackThread, ThreadPost
from bot.domain.phone import masked
from bot.flows import leads
from bot.flows import webhooks as webhook_flows
from bot.services import Services

log = logging.getLogger(__name__)


async def undelivered(services: Services, sid: str, status: str, code: int | None) -> bool:
    """Status `failed`/`undelivered` for the text `sid`. False when it is not a text of ours (or
    older than our records)."""
    sent = await services.markers.sent_text(sid)
    if sent is None:
        return False
    lead = sent.report_to if isinstance(sent.report_to, LeadThread) else None
    opted_out = None
    if code == twilio_errors.OPTED_OUT:
        recorded = await services.callers.record_opt_out(
            sent.to,
            sent.line,
            services.clock(),
            source="carrier",
            message=f"Twilio error 21610 in the status of the {sent.purpose}",
            message_sid=sid,
        )
        if recorded:
            opted_out = webhook_flows.event(
                services,
                "consent.opted_out",
                line=sent.line,
                cause=f"21610:{sid}",
                phone=sent.to,
                lead_id=lead.lead_id if lead else None,
                consent={"source": "carrier", "error": "Twilio error 21610"},
            )
    reason = twilio_errors.describe(code, f"the carrier reported it {status}")
    texted = None
    if lead is not None and sent.purpose.startswith("auto-text"):
        await services.leads.text_failed(lead.phone, lead.lead_id, status, reason)
        message = {"direction": "outbound", "sid": sid, "status": status, "error": reason}
        texted = webhook_flows.event(
            services,
            "lead.texted",
            line=sent.line,
            cause=f"{sid}:{status}",
            phone=lead.phone,
            lead_id=lead.lead_id,
            message=message,
        )
    log.info("sms %s sid=%s to=%s code=%s", status, sid, masked(sent.to), code)
    text = f":warning: Text not delivered ({sent.purpose}): {reason}."
    told = webhook_flows.some(opted_out, texted)
    if await cannot_text(services, sent, code, f"status:{sid}:{status}", text):
        await webhook_flows.queue(services, *told)
        return True
    # In the lead's thread after its card, even when Slack is slow to take the card.
    follow_up = [await failure_notice(services, f"status:{sid}:{status}", sent.report_to, text)]
    if sent.react_on is not None:
        follow_up.append(Job(f"react:{sid}:undelivered", Reaction(sent.react_on, "warning")))
    await services.outbox.enqueue([*follow_up, *told])
    return True


async def failure_notice(
    services: Services, job_id: str, where: LeadThread | SlackThread, text: str
) -> Job:
    """A notice about a text: in the lead's thread, as an ordered post after everything planned
    before it (a failed auto-text is known in milliseconds, while the card it belongs under may
    still be on its way to Slack), or in the known thread of a crew reply."""
    if isinstance(where, LeadThread):
        seq = await services.callers.next_seq(where.phone, where.line)
        return Job(job_id, ThreadPost(where.at(seq), text))
    return Job(job_id, Notice(where.channel, text, thread_ts=where.ts))


async def cannot_text(
    services: Services, sent: SentText, code: int | None, job_id: str, text: str
) -> bool:
    """A lead's auto-text that can never arrive (a landline: 30006, 21614): the card turns to
    "Landline: call them back" and the thread says why. True when that is what happened."""
    lead = sent.report_to
    if not (
        code in twilio_errors.CANNOT_TEXT
        and sent.purpose.startswith("auto-text")
        and isinstance(lead, LeadThread)
    ):
        return False
    await services.calls.set_line_type(sent.to, "landline")  # no doomed text for 30 days
    why = (
        text.replace(":warning:", ":phone:", 1)
        + " They can't get texts and are waiting for a call: tap *Call back* on the card."
    )
    await leads.cannot_text(services, lead, job_id, why)
    return True
