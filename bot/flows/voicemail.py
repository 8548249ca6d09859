"""A missed caller's voicemail: the audio into their thread, then Twilio's transcript under it.

The auto-text is decided at the missed dial, as without voicemail; this only adds what the
caller left. A voicemail counts as the caller's reply (card, reminder clock, stats, and
lead.replied for the webhook receivers), an urgent transcript flags the card like an urgent
text, and the transcript goes to the receivers in message.received like a text.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.domain import slack_text, urgency
from bot.domain import voicemail as rules
from bot.domain.jobs import Job, LeadThread, ThreadPost, VoicemailUpload
from bot.domain.leads import mention
from bot.domain.phone import masked
from bot.domain.webhooks import EventType
from bot.flows import leads
from bot.flows import webhooks as webhook_flows
from bot.services import Services
from storage.voicemail import VoicemailPlan

log = logging.getLogger(__name__)


async def offered(services: Services, call_sid: str, caller: str, line: str) -> None:
    """The caller is about to hear the beep: remember whose call it is for its recording."""
    await services.calls.voicemail_offered(call_sid, caller, line)


async def recorded(
    services: Services, call_sid: str, recording_sid: str, url: str, seconds: int
) -> str:
    """The recording is complete. Returns what became of it: posted, dropped (a hang-up at the
    beep), duplicate (a repeated callback, or the transcript came first), unknown (no call of
    ours offered voicemail)."""
    found = await services.calls.voicemail_caller(call_sid)
    if found is None:
        return "unknown"
    phone, line = found
    if seconds < rules.MIN_SECONDS:
        await services.voicemails.dropped(phone, line, recording_sid)
        log.info("voicemail dropped (%ss) call=%s from=%s", seconds, call_sid, masked(phone))
        return "dropped"
    plan = await services.voicemails.recorded(phone, line, recording_sid)
    if not plan.audio_seq:
        return "duplicate"
    await _post(services, phone, line, plan, recording_sid, url, seconds)
    log.info("voicemail %ss call=%s from=%s", seconds, call_sid, masked(phone))
    return "posted"


async def transcribed(
    services: Services,
    call_sid: str,
    recording_sid: str,
    url: str,
    transcription_sid: str,
    text: str,
) -> str:
    """Twilio's transcription came (text empty when it failed). It follows the audio in the
    thread; when it came first, it brings the audio along (it names the recording)."""
    found = await services.calls.voicemail_caller(call_sid)
    if found is None:
        return "unknown"
    phone, line = found
    words = text.strip()
    plan = await services.voicemails.transcribed(
        phone, line, recording_sid, transcription_sid, has_text=bool(words)
    )
    if not (plan.audio_seq or plan.transcript_seq):
        return "duplicate"
    await _post(services, phone, line, plan, recording_sid, url, None, words)
    return "posted"


async def _post(
    services: Services,
    phone: str,
    line: str,
    plan: VoicemailPlan,
    recording_sid: str,
    url: str,
    seconds: int | None,
    words: str = "",
) -> None:
    urgent = bool(words) and urgency.is_urgent(words)
    # A voicemail is the caller's reply: once, with its audio; an urgent transcript flags it.
    first_reply = False
    if plan.audio_seq:
        state, first_reply = await leads.caller_texted(services, phone, line, plan.lead_id, urgent)
    elif urgent:
        state = await leads.flag_urgent(services, phone, plan.lead_id)
    else:
        state = await services.leads.get(phone, plan.lead_id)
    claimer = state.claimer or None
    channel = state.channel or services.lines.known(line).channel_id
    thread = LeadThread(phone, line, plan.lead_id, channel)
    planned: list[Job] = []
    if plan.audio_seq:
        upload = VoicemailUpload(thread.at(plan.audio_seq), recording_sid, url, seconds, claimer)
        planned.append(Job(f"voicemail:{recording_sid}", upload))
    if plan.transcript_seq:
        post = ThreadPost(thread.at(plan.transcript_seq), rules.transcript(words, claimer))
        planned.append(Job(f"voicemail:{recording_sid}:transcript", post))
    if urgent and plan.transcript_seq:
        seq = await services.callers.next_seq(phone, line)
        text = (
            f":rotating_light: {mention(state)} *Urgent* voicemail from "
            f"{slack_text.escape(phone)}: see the thread."
        )
        post = ThreadPost(thread.at(seq), text, broadcast=True)
        planned.append(Job(f"voicemail:{recording_sid}:urgent", post))
    told = _events(services, phone, line, plan, recording_sid, words, first_reply)
    await services.outbox.enqueue([*planned, *told])
    await services.voicemails.queued(phone, recording_sid, plan)


def _events(
    services: Services,
    phone: str,
    line: str,
    plan: VoicemailPlan,
    recording_sid: str,
    words: str,
    first_reply: bool,
) -> list[Job]:
    """What the line's webhook receivers hear: the transcript in message.received once it
    exists (a recording Twilio could not transcribe has no words to tell), and lead.replied
    when the voicemail was the caller's first reply (with its words, if they came first)."""
    message: dict[str, Any] = {
        "direction": "inbound",
        "kind": "voicemail",
        "sid": recording_sid,
        "text": words or None,
        "keyword": None,
        "media": [],
    }

    def event(event_type: EventType) -> Job | None:
        return webhook_flows.event(
            services,
            event_type,
            line=line,
            cause=f"voicemail:{recording_sid}",
            phone=phone,
            lead_id=plan.lead_id,
            message=message,
        )

    received = event("message.received") if plan.transcript_seq and words else None
    return webhook_flows.some(received, event("lead.replied") if first_reply else None)
