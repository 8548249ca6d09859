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
from bot.domain.segments import count_segments

# Why no auto-text went out, in the words the crew sees on the lead card.
SUPPRESSED = {
    "excluded": "No auto-text: this number is on the exclusion list",
    "opted_out": "No auto-text: this caller opted out (texted STOP)",
    "paused": "No auto-text: auto-texts are paused",
    "hidden": "No auto-text: caller ID hidden",
    "landline": "No auto-text: this number is a landline (it can't get texts)",
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
    on_call: str | None = None,
) -> list[Job]:
    """The auto-text (when the store allowed it) and the lead card or a note in its thread.

    link: this lead's own intake page (INTAKE_LINK=page); with `url` the line's INTAKE_URL,
    with `off` none, and the texts without {link} go out.
    on_call: the Slack user on call now; a new card mentions them (a push to their phone).
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
            link=link or line.fixed_link,
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
        text += f"\n{when} · {status}" + (f" · on call: <@{on_call}>" if on_call else "")
        post = Job(f"call:{call.call_sid}", ThreadPost(lead.at(claim.seq), text, card=True))
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
    "help": ":information_source: Caller asked for HELP; {who} help reply went out.",
}


def plan_inbound_text(
    text: InboundText,
    claim: Claim,
    line: Line,
    confirm_opt_out: bool,
    claimer: str | None = None,
    on_call: str | None = None,
) -> list[Job]:
    """Relay to the caller's thread; answer STOP/START/HELP only when we confirm them ourselves
    (OPT_OUT_CONFIRMATION=app) and Twilio didn't say it answered. `text.action` is the one that
    holds (keywords.effective: a "Yes" from a caller who never opted out is a message).

    The relayed text mentions the claimer, or on an unclaimed lead the person on call: a push
    to their phone (a new text-started card does not, the text right under it does)."""
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
    elif on_call:
        message = f":speech_balloon: *Caller* (for <@{on_call}>, on call):\n{body}"
    note = _ACTION_NOTES.get(text.action)
    if note:
        ours = confirm_opt_out and not text.twilio_answered
        message += "\n" + note.format(who="our" if ours else "Twilio's")
    planned.append(Job(f"in:{sid}", ThreadPost(lead.at(seq), message)))
    for index, (url, content_type) in enumerate(text.media, start=1):
        upload = MediaUpload(lead.at(seq + index), url, content_type)
        planned.append(Job(f"in:{sid}:media:{index}", upload))
    planned.extend(_keyword_reply(text, line, confirm_opt_out, lead))
    return planned


def _keyword_reply(
    text: InboundText, line: Line, confirm_opt_out: bool, lead: LeadThread
) -> list[Job]:
    if text.twilio_answered or text.action == "message" or not confirm_opt_out:
        # Twilio's default handling on a long code answers STOP, START and HELP itself, and on
        # a plain number says nothing of it (no OptOutType): a reply of ours would be a second.
        return []
    business = line.business_name
    if text.action == "help":
        body, purpose, template = templates.help_reply(business), "help reply", "help"
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


# The bot's marks on a crew message: kept inside Slack, waiting out the undo window.
STAYED_INSIDE = "lock"
WAITING = "hourglass_flowing_sand"


def plan_crew_reply(
    reply: CrewReply, lead: LeadThread, caller: dict[str, str], held: bool = False
) -> tuple[list[Job], Job | None]:
    """A crew member's thread reply: (jobs to queue now, the text to the caller or None).

    An internal note (`//`, a teammate mentioned) only gets a 🔒; a reply to a caller who
    opted out a ⚠️ and a word in the thread. held: the text waits out the undo window (the
    flow schedules it), so the message gets a ⏳ now."""
    written = SlackMessage(reply.channel, reply.ts)
    key = f"{reply.channel}:{reply.ts}"
    if reply.internal:
        return [Job(f"react:{key}:{STAYED_INSIDE}", Reaction(written, STAYED_INSIDE))], None
    if "opted_out" in caller:
        note = (
            ":warning: Not sent: this caller opted out (texted STOP). They can text START "
            "to hear from us again."
        )
        return [
            Job(f"react:{key}:warning", Reaction(written, "warning")),
            Job(f"held:{key}", Notice(reply.channel, note, thread_ts=reply.thread_ts)),
        ], None
    business_number = caller.get("business_number")
    if not business_number:
        return [], None
    planned: list[Job] = []
    text = crew_text(reply, lead, business_number, held) if reply.text else None
    if text is not None and held:
        planned.append(Job(f"react:{key}:{WAITING}", Reaction(written, WAITING)))
    if reply.files:
        if not reply.text:
            what = "Not sent"
        elif held:
            what = "The words will go out; the photo or file won't"
        else:
            what = "The words went out; the photo or file did not"
        note = (
            f":paperclip: {what}: photos and files in Slack can't be texted to the caller. "
            "Describe it in a reply, or send a link they can open."
        )
        planned.append(Job(f"files:{key}", Notice(reply.channel, note, thread_ts=reply.thread_ts)))
    return planned, text


def crew_text(reply: CrewReply, lead: LeadThread, business_number: str, held: bool) -> Job:
    """The SMS a crew reply becomes (its id, from the Slack message, keeps it at most once)."""
    sms = SendSms(
        to=lead.phone,
        from_=business_number,
        body=reply.text,
        purpose="crew reply",
        line=lead.line,
        report_to=SlackThread(reply.channel, reply.thread_ts),
        react_on=SlackMessage(reply.channel, reply.ts),
        answers=lead,
        held=held,
        sent_note=emoji_cost(reply.typed or reply.text, reply.text),
        author=reply.user or None,
    )
    return Job(f"reply:{reply.channel}:{reply.ts}", sms)


def emoji_cost(typed: str, sent: str) -> str | None:
    """What the typed emoji, as characters, cost the text: said only when they made it UCS-2
    (70 characters a segment instead of 160) or more segments."""
    before, after = count_segments(typed), count_segments(sent)
    if after.encoding == before.encoding and after.segments <= before.segments:
        return None
    shown = " ".join(slack_text.emoji_in(sent)) or "characters"
    count = f"{after.segments} segment{'' if after.segments == 1 else 's'}"
    if after.segments > before.segments:
        count += f" instead of {before.segments}"
    why = f"The emoji ({shown})" if slack_text.emoji_in(sent) else "Its characters"
    return (
        f":white_check_mark: Texted. {why} made it a Unicode text (UCS-2, 70 characters a "
        f"segment instead of 160): {count}."
    )
