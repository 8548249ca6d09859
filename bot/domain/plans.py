"""Given what happened and what the store decided, which jobs must run.

Pure functions, no I/O: flows call these between reading the store and writing the outbox.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.domain import slack_text, templates
from bot.domain.events import Claim, CrewReply, InboundText, MissedCall
from bot.domain.jobs import (
    Job,
    LeadThread,
    MediaUpload,
    Notice,
    Reaction,
    SendSms,
    SlackMessage,
    SlackThread,
    ThreadPost,
)
from bot.domain.line import Line
from bot.domain.phone import pretty

# Why no auto-text went out, in the words the crew sees on the lead card.
SUPPRESSED = {
    "excluded": "No auto-text: this number is on the exclusion list",
    "opted_out": "No auto-text: this caller opted out (texted STOP)",
    "paused": "No auto-text: auto-texts are paused",
    "hidden": "No auto-text: caller ID hidden",
}


def template_kind(line: Line, claim: Claim, at: datetime) -> templates.Kind:
    if claim.record.get("repeat_caller"):
        return "repeat"
    if not line.hours.is_open(at.astimezone(line.timezone)):
        return "after_hours"
    return "business"


def local_time(line: Line, at: datetime) -> str:
    return at.astimezone(line.timezone).strftime("%a %b %-d, %-I:%M %p")


def caller_label(phone: str, name: str | None = None) -> str:
    label = f"<tel:{phone}|{pretty(phone)}>"
    shown = slack_text.inline(name) if name else ""
    return f"{label} ({shown})" if shown else label


def _ago(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"


def outcome_text(line: Line, claim: Claim, at: datetime) -> str:
    outcome = claim.outcome
    if outcome == "send":
        return "Auto-text sent"
    if outcome == "window":
        ago = _ago(at.timestamp() - float(claim.record.get("last_text_at") or 0))
        hours = line.window_seconds / 3600
        return f"No auto-text: already texted {ago} ago (one text per {hours:g} h)"
    return SUPPRESSED.get(outcome, f"No auto-text ({outcome})")


def plan_missed_call(
    call: MissedCall,
    claim: Claim,
    line: Line,
    link: str | None = None,
    card_waits: bool = False,
) -> list[Job]:
    """The auto-text (when the store allowed it) and the lead card or a note in its thread.

    link: this lead's own intake page, used when the line has no INTAKE_URL.
    card_waits: a new lead's card rides on its auto-text (the SMS job's `then`), so it is
    posted once Twilio has answered and shows the outcome as posted: no chat.update, whose
    budget (Tier 3) a burst of calls would use up for hours, holding back the crew's claims."""
    assert call.caller is not None
    lead = LeadThread(call.caller, line.id, claim.lead_id, line.channel_id)
    sms: SendSms | None = None
    if claim.outcome == "send":
        kind = template_kind(line, claim, call.at)
        text = templates.render(
            kind,
            business=line.business_name,
            link=link or line.intake_url,
            template=line.templates.get(kind),
            caller_name=call.caller_name,
            local=call.at.astimezone(line.timezone),
        ).text
        sms = SendSms(
            to=call.caller,
            from_=call.business_number,
            body=text,
            purpose=f"auto-text ({kind})",
            line=line.id,
            report_to=lead,
            template=kind,
            template_version=_template_version(line, kind),
        )
    when = local_time(line, call.at)
    status = outcome_text(line, claim, call.at)
    if claim.new_lead:
        text = (
            f":telephone_receiver: *Missed call* from {caller_label(call.caller, call.caller_name)}"
        )
        post = Job(
            f"call:{call.call_sid}",
            ThreadPost(lead.at(claim.seq), text + f"\n{when} · {status}", card=True),
        )
        if sms is not None and card_waits:
            return [Job(f"textback:{call.call_sid}", replace(sms, then=post))]
    else:
        text = f":telephone_receiver: Called again {when} · {status}"
        post = Job(f"call:{call.call_sid}", ThreadPost(lead.at(claim.seq), text))
    if sms is None:
        return [post]
    return [Job(f"textback:{call.call_sid}", sms), post]


def _template_version(line: Line, kind: templates.Kind) -> str:
    """For the consent ledger: "v3" for the third text set in Slack, "default" otherwise."""
    if kind not in line.templates:
        return "default"
    return f"v{line.template_versions.get(kind, 1)}"


def plan_hidden_call(call: MissedCall, line: Line) -> list[Job]:
    text = (
        ":telephone_receiver: *Missed call* from a hidden number"
        f"\n{local_time(line, call.at)} · {SUPPRESSED['hidden']}"
    )
    return [Job(f"call:{call.call_sid}", Notice(line.channel_id, text))]


_ACTION_NOTES = {
    "opt_out": ":octagonal_sign: Caller opted out. No more texts will be sent to this number "
    "until they text START.",
    "opt_in": ":arrow_forward: Caller opted back in (START).",
    "help": ":information_source: Caller asked for HELP; the help reply went out.",
}


def plan_inbound_text(
    text: InboundText,
    claim: Claim,
    line: Line,
    confirm_opt_out: bool,
    claimer: str | None = None,
) -> list[Job]:
    """Relay to the caller's thread; answer only STOP/START/HELP, and only when Twilio didn't."""
    if text.action == "opt_in" and not (text.twilio_answered or claim.record.get("was_opted_out")):
        text = replace(text, action="message")  # "Yes" answering the crew is not a re-subscribe
    lead = LeadThread(text.caller, line.id, claim.lead_id, line.channel_id)
    seq = claim.seq
    planned: list[Job] = []
    sid = text.message_sid
    if claim.new_lead:
        card = f":speech_balloon: *New text* from {caller_label(text.caller)}"
        card += f"\n{local_time(line, text.at)}"
        planned.append(Job(f"in:{sid}:card", ThreadPost(lead.at(seq), card, card=True)))
        seq += 1
    body = slack_text.quote(text.body) if text.body.strip() else "_(no text)_"
    message = f":speech_balloon: *Caller:*\n{body}"
    if claimer:  # the claimer's phone buzzes on each new reply
        message = f":speech_balloon: *Caller* (for <@{claimer}>):\n{body}"
    note = _ACTION_NOTES.get(text.action)
    if note:
        message += f"\n{note}"
    planned.append(Job(f"in:{sid}", ThreadPost(lead.at(seq), message)))
    for index, (url, content_type) in enumerate(text.media, start=1):
        upload = MediaUpload(lead.at(seq + index), url, content_type)
        planned.append(Job(f"in:{sid}:media:{index}", upload))
    planned.extend(_keyword_reply(text, line, confirm_opt_out, lead))
    return planned


def _keyword_reply(
    text: InboundText, line: Line, confirm_opt_out: bool, lead: LeadThread
) -> list[Job]:
    if text.twilio_answered or text.action == "message":
        return []
    business = line.business_name
    if text.action == "help":
        body, purpose, template = templates.help_reply(business), "help reply", "help"
    elif not confirm_opt_out:
        return []  # Twilio's default handling on long codes already confirmed STOP/START
    elif text.action == "opt_out":
        body, purpose = templates.opt_out_confirmation(business), "opt-out confirmation"
        template = "opt_out_confirmation"
    else:
        body, purpose = templates.opt_in_confirmation(business), "opt-in confirmation"
        template = "opt_in_confirmation"
    sms = SendSms(
        to=text.caller,
        from_=text.business_number,
        body=body,
        purpose=purpose,
        line=line.id,
        report_to=lead,
        respect_opt_out=False,  # these answer the caller's own keyword
        template=template,
    )
    return [Job(f"keyword:{text.message_sid}", sms)]


def plan_crew_reply(reply: CrewReply, lead: LeadThread, caller: dict[str, str]) -> list[Job]:
    """A crew member's thread reply goes out by SMS, unless the caller opted out."""
    written = SlackMessage(reply.channel, reply.ts)
    thread = SlackThread(reply.channel, reply.thread_ts)
    key = f"{reply.channel}:{reply.ts}"
    if "opted_out" in caller:
        note = (
            ":warning: Not sent: this caller opted out (texted STOP). They can text START "
            "to hear from us again."
        )
        return [
            Job(f"react:{key}:warning", Reaction(written, "warning")),
            Job(f"held:{key}", Notice(reply.channel, note, thread_ts=reply.thread_ts)),
        ]
    business_number = caller.get("business_number")
    if not business_number:
        return []
    planned: list[Job] = []
    if reply.text:
        sms = SendSms(
            to=lead.phone,
            from_=business_number,
            body=reply.text,
            purpose="crew reply",
            line=lead.line,
            report_to=thread,
            react_on=written,
            about=lead,
            author=reply.user or None,
        )
        planned.append(Job(f"reply:{key}", sms))
    if reply.files:
        what = "The words went out; the photo or file did not" if reply.text else "Not sent"
        note = (
            f":paperclip: {what}: photos and files in Slack can't be texted to the caller. "
            "Describe it in a reply, or send a link they can open."
        )
        planned.append(Job(f"files:{key}", Notice(reply.channel, note, thread_ts=reply.thread_ts)))
    return planned
