"""Sending a text through Twilio, at most once, and telling the crew when one did not go out.

An SMS is sent at most once: its marker is written before the send and a delivery that finds a
marker never sends, so a worker killed mid-send leaves the marker and the redelivery sends
nothing (a missing text is better than a duplicate to someone's phone).
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException

from bot.domain import twilio_errors
from bot.domain.jobs import (
    Job,
    LeadThread,
    Notice,
    Reaction,
    SendSms,
    SentText,
    SlackThread,
)
from bot.domain.phone import masked
from bot.domain.plans import WAITING
from bot.domain.webhooks import EventType
from bot.flows import leads
from bot.flows import webhooks as webhook_flows
from bot.flows.text_status import cannot_text, failure_notice
from bot.outbox.errors import Retry
from bot.services import Services

log = logging.getLogger(__name__)

TEMPLATE_VERSION = "default"  # the environment's text (templates set in Slack carry "v<n>")
# Told in the thread when a dead worker's text may or may not have reached the caller.
UNCERTAIN = (
    "a worker stopped while sending it, so it may not have reached the caller; check with them"
    " before sending it again"
)


async def send_sms(services: Services, job: Job, sms: SendSms, *, reclaimed: bool) -> None:
    if sms.answers is not None and job.attempt == 0:
        # A crew reply leaves Slack (its undo window, if any, is over): the caller is answered.
        lead = sms.answers
        await leads.human_answered(services, lead.phone, lead.line, lead.lead_id)
    try:
        await _send(services, job, sms, reclaimed=reclaimed)
    except Retry:
        if sms.then is not None and job.attempt == 0:
            await _hand_on(services, sms.then)  # the text is held up: the card waits no longer
        raise
    if sms.then is not None:
        await _hand_on(services, sms.then)


async def _hand_on(services: Services, follow: Job) -> None:
    """A new lead's card, waiting to show how its auto-text went: queued now, its timer gone."""
    pipe = services.redis.pipeline(transaction=False)
    services.outbox.add_instead_of_later(pipe, follow)
    await pipe.execute()


async def _send(services: Services, job: Job, sms: SendSms, *, reclaimed: bool) -> None:
    markers = services.markers
    start = await markers.start_sms(sms.to, sms.line, job.id, sms.respect_opt_out)
    if start == "opted_out":
        # STOP arrived after this was queued: the opt-out wins.
        log.info("sms held: opted out job=%s to=%s", job.id, masked(sms.to))
        reason = "the caller opted out (texted STOP)"
        await report_failure(services, job, sms, reason, "Not sent", outcome="not_sent")
        return
    if start != "go":
        # 'done': a redelivery. 'running': a worker died mid-send; we cannot know whether Twilio
        # got it, and a second text is worse than a missing one (at most once).
        log.warning("sms skipped job=%s marker=%s", job.id, start)
        if start == "running" and reclaimed:
            # Not silently: the crew can check with the caller rather than never know.
            headline = "Text may not have gone out"
            await report_failure(services, job, sms, UNCERTAIN, headline, outcome="unknown")
        return
    try:
        message = await services.twilio.messages.create_async(
            to=sms.to,
            from_=sms.from_,
            body=sms.body,
            status_callback=f"{services.settings.public_url}/twilio/sms/status",
        )
    except TwilioRestException as exc:
        if twilio_errors.is_retryable(exc.status, exc.code):
            await markers.release_caller_job(sms.to, job.id)
            throttled = twilio_errors.is_throttled(exc.status, exc.code)
            raise Retry(f"twilio {exc.status} code={exc.code}", throttled=throttled) from exc
        await markers.sms_failed(sms.to, job.id)
        services.metrics.send_failures.labels("twilio", "permanent").inc()
        if exc.code == twilio_errors.OPTED_OUT:
            recorded = await services.callers.record_opt_out(
                sms.to,
                sms.line,
                services.clock(),
                source="carrier",
                message=f"Twilio error 21610 sending the {sms.purpose}",
            )
            if recorded:
                await _carrier_opt_out(services, job, sms)
        reason = twilio_errors.describe(exc.code)
        text = f":warning: Text not sent ({sms.purpose}): {reason}."
        if await cannot_text(services, SentText.of(sms), exc.code, f"failed:{job.id}", text):
            # A landline: the card asks for a call back; the receivers hear the text failed.
            failed = await _auto_text_failed(services, job, sms, reason)
            await webhook_flows.queue(services, *failed)
            return
        await report_failure(services, job, sms, reason)
        return
    except (aiohttp.ClientError, TimeoutError) as exc:
        # No answer from Twilio. A refused connection sent nothing; a timeout might have,
        # but is rare enough that retrying beats dropping the caller's text.
        await markers.release_caller_job(sms.to, job.id)
        raise Retry(f"twilio unreachable: {type(exc).__name__}") from exc
    services.metrics.sms_sent.labels(sms.purpose).inc()
    if sms.purpose == "crew reply":
        services.metrics.relayed.labels("to_caller").inc()
    log.info("sms sent sid=%s job=%s to=%s", message.sid, job.id, masked(sms.to))
    # What the send leaves behind, in one round trip: the marker, the ledger, the reaction.
    pipe = services.redis.pipeline(transaction=False)
    markers.finish_sms(pipe, sms.to, job.id, "done", sent=(message.sid, SentText.of(sms)))
    if sms.template:
        services.ledger.add(
            pipe,
            sms.to,
            "text_sent",
            services.clock(),
            line=sms.line,
            template=sms.template,
            version=sms.template_version or TEMPLATE_VERSION,
            message_sid=message.sid,
            purpose=sms.purpose,
        )
    if sms.react_on is not None:
        reaction = Reaction(sms.react_on, "white_check_mark")
        services.outbox.add(pipe, [Job(f"react:{job.id}:ok", reaction), *_unwait(job, sms)])
    if sms.sent_note and isinstance(sms.report_to, SlackThread):
        note = Notice(sms.report_to.channel, sms.sent_note, thread_ts=sms.report_to.ts)
        services.outbox.add(pipe, [Job(f"sent-note:{job.id}", note)])
    lead = sms.lead
    lead_texted = _auto_text(sms)
    if lead_texted:
        await leads.count_texted(services, pipe, sms.line)
    answer = None
    if lead is not None:
        author = sms.author if sms.purpose == "crew reply" else None
        services.leads.text_sent(
            pipe, lead.phone, lead.lead_id, services.clock(), auto=lead_texted, author=author
        )
        if author:  # a crew reply that went out (queued after what it records)
            answer = _event(services, "message.sent", job, sms, message.sid, by=author)
    services.outbox.add(pipe, webhook_flows.some(answer))
    await pipe.execute()
    if lead is not None and lead_texted:
        await leads.auto_texted(services, lead.phone, lead.lead_id)
        # After the lead moved to Texted, so the event shows it. A new lead's card rides on
        # this text (sms.then, queued right after a first attempt; a retry's went already):
        # the event waits for it at once.
        told = _event(services, "lead.texted", job, sms, message.sid, status="sent")
        if told is not None:
            card_on_its_way = sms.then is not None and job.attempt == 0
            pipe = services.redis.pipeline(transaction=False)
            webhook_flows.add(services, pipe, [told], card_on_its_way=card_on_its_way)
            await pipe.execute()


def _auto_text(sms: SendSms) -> bool:
    return sms.purpose.startswith("auto-text") and isinstance(sms.report_to, LeadThread)


def _event(
    services: Services,
    event_type: EventType,
    job: Job,
    sms: SendSms,
    sid: str | None,
    status: str | None = None,
    error: str | None = None,
    by: str | None = None,
) -> Job | None:
    """A webhook event about a text to a lead's caller: its words, and how it went."""
    lead = sms.lead
    if lead is None:
        return None
    message: dict[str, str | None] = {"direction": "outbound", "sid": sid, "text": sms.body}
    if status is not None:
        message.update(status=status, error=error)
    facts: dict[str, Any] = {"message": message}
    if by:
        facts["by"] = by
    return webhook_flows.event(
        services,
        event_type,
        line=sms.line,
        cause=job.id,
        phone=lead.phone,
        lead_id=lead.lead_id,
        **facts,
    )


async def _carrier_opt_out(services: Services, job: Job, sms: SendSms) -> None:
    lead = sms.lead
    consent = {"source": "carrier", "error": "Twilio error 21610"}
    await webhook_flows.queue(
        services,
        webhook_flows.event(
            services,
            "consent.opted_out",
            line=sms.line,
            cause=f"21610:{job.id}",
            phone=sms.to,
            lead_id=lead.lead_id if lead else None,
            consent=consent,
        ),
    )


async def gave_up(services: Services, job: Job, sms: SendSms, why: str) -> None:
    """The worker gives up on a text after its last retry: nothing went out (its marker was
    released for each retry), so the crew hears it, and the crew's message gets ⚠️."""
    log.error("sms given up job=%s to=%s", job.id, masked(sms.to))
    await report_failure(services, job, sms, why)


async def report_failure(
    services: Services,
    job: Job,
    sms: SendSms,
    reason: str,
    headline: str = "Text not sent",
    outcome: str = "failed",
) -> None:
    """Told in the thread; an auto-text's outcome kept on its lead and told its receivers."""
    follow_up = await _auto_text_failed(services, job, sms, reason, outcome)
    if sms.react_on is not None:
        follow_up.append(Job(f"react:{job.id}:warn", Reaction(sms.react_on, "warning")))
        follow_up.extend(_unwait(job, sms))
    text = f":warning: {headline} ({sms.purpose}): {reason}."
    follow_up.append(await failure_notice(services, f"failed:{job.id}", sms.report_to, text))
    await services.outbox.enqueue(follow_up)


async def _auto_text_failed(
    services: Services, job: Job, sms: SendSms, reason: str, outcome: str = "failed"
) -> list[Job]:
    """An auto-text that did not go out: its outcome kept on the lead, and the lead.texted
    event that tells the line's receivers (none for any other text)."""
    lead = sms.lead
    if lead is None or not _auto_text(sms):
        return []
    await services.leads.text_failed(lead.phone, lead.lead_id, outcome, reason)
    told = _event(services, "lead.texted", job, sms, None, status=outcome, error=reason)
    return webhook_flows.some(told)


def _unwait(job: Job, sms: SendSms) -> list[Job]:
    """The ⏳ a held crew reply waited under comes off once it is sent or refused."""
    if not sms.held or sms.react_on is None:
        return []
    return [Job(f"unreact:{job.id}:wait", Reaction(sms.react_on, WAITING, remove=True))]
