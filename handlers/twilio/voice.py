"""Twilio voice webhooks: ring the crew, screen the answer, and spot the missed call.

A voicemail box picking up reports "completed" just like a person, so when screening is on a
call counts as answered only if someone pressed a key on the "press any key" prompt; when a
round of ringing ended with such a silent answer, the other phones ring again
(bot/domain/ringing.py). A missed caller may then leave a voicemail (VOICEMAIL; voicemail.py
takes its callbacks). Twilio waits at most 15 s and retries only on connection failure: answer
once the event is stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from bot.domain import voicemail as voicemail_rules
from bot.domain.events import MissedCall
from bot.domain.line import Line
from bot.domain.phone import InvalidNumber, caller_number, to_e164
from bot.flows import calls
from bot.flows import voicemail as voicemail_flow
from bot.services import Services
from handlers.app_keys import SERVICES
from handlers.twilio.twiml import respond
from handlers.twilio.verify import FORM, field, required

MISSED_DIAL = frozenset({"no-answer", "busy", "failed", "canceled"})
# The caller's own leg, as a <Dial action> reports it: gone, so there is nobody to ring again.
CALLER_GONE = frozenset({"completed", "canceled", "busy", "failed", "no-answer"})


def business_number(form: MultiDictProxy[str]) -> str:
    """The number called: To, or Called where Twilio sends that instead."""
    name = "To" if field(form, "To").strip() else "Called"
    try:
        return to_e164(required(form, name))
    except InvalidNumber as exc:
        raise web.HTTPBadRequest(text=f"{name}: {exc}") from None


def _missed_call(form: MultiDictProxy[str], services: Services) -> MissedCall:
    name = field(form, "CallerName").strip() or None
    return MissedCall(
        call_sid=required(form, "CallSid"),
        caller=caller_number(field(form, "From")),
        business_number=business_number(form),
        at=datetime.fromtimestamp(services.clock(), UTC),
        caller_name=name,
    )


def _say_and_hang_up(words: str) -> VoiceResponse:
    twiml = VoiceResponse()
    twiml.say(words)
    twiml.hangup()
    return twiml


# Built once: these answers never change, and every missed call ends with one of them.
_TEXTING = str(
    _say_and_hang_up("Sorry we missed your call. We'll text you at this number in a moment.")
)
_NOT_TEXTING = str(
    _say_and_hang_up("Sorry, nobody can take your call right now. Please try again later.")
)
# A number no line lists (and no catch-all): no business to name, no text to promise.
_UNLISTED = str(_say_and_hang_up("Sorry, this number can't take your call. Goodbye."))
# A landline (Lookup, or a text to it that failed before) gets no text: the crew calls back.
_CALLING_BACK = str(
    _say_and_hang_up("Sorry we missed your call. We'll call you back shortly. Goodbye.")
)


def _goodbye(outcome: str) -> str:
    if outcome == "unlisted":
        return _UNLISTED
    if outcome == "landline":
        return _CALLING_BACK
    return _TEXTING if outcome == "send" else _NOT_TEXTING


async def _after_missed(
    services: Services, call: MissedCall, line: Line | None, outcome: str
) -> str:
    """What a missed caller hears: the goodbye, or with VOICEMAIL the beep first (the text, if
    one goes out, is already queued: a voicemail never delays it)."""
    takes_messages = line is not None and line.voicemail and call.caller is not None
    if not takes_messages or outcome in ("unlisted", "hidden"):
        return _goodbye(outcome)
    assert call.caller is not None and line is not None
    await voicemail_flow.offered(services, call.call_sid, call.caller, line.id)
    public = services.settings.public_url
    twiml = VoiceResponse()
    twiml.say(voicemail_rules.before_the_beep(outcome))
    twiml.record(
        max_length=voicemail_rules.MAX_SECONDS,
        play_beep=True,
        transcribe=True,
        transcribe_callback=f"{public}/twilio/voice/transcription",
        recording_status_callback=f"{public}/twilio/voice/recording",
        action=f"{public}/twilio/voice/recorded",
    )
    return str(twiml)


def _ring(services: Services, line: Line, call_sid: str, phones: tuple[str, ...]) -> VoiceResponse:
    """Ring `phones` together for the line's RING_SECONDS, each answer screened."""
    public = services.settings.public_url
    dial = Dial(timeout=line.ring_seconds, action=f"{public}/twilio/voice/dial-status")
    # On the crew's leg To is the crew's phone: the line travels in the URL.
    query = urlencode({"parent": call_sid, "line": line.id})
    screen = f"{public}/twilio/voice/screen?{query}"
    for number in phones:
        if line.screen_calls:
            dial.number(number, url=screen)
        else:
            dial.number(number)
    return VoiceResponse().append(dial)


def _hangup() -> VoiceResponse:
    # VoiceResponse().hangup() returns the <Hangup/> verb, not the <Response> holding it.
    twiml = VoiceResponse()
    twiml.hangup()
    return twiml


async def incoming_call(request: web.Request) -> web.Response:
    """POST /twilio/voice: ring FORWARD_TO with screening, or miss the call at once."""
    services = request.config_dict[SERVICES]
    form = request[FORM]
    call = _missed_call(form, services)
    line = services.lines.for_number(call.business_number)
    if line is None or not line.forward_to:
        outcome = await calls.missed_call(services, call)
        return respond(await _after_missed(services, call, line, outcome))
    await calls.ringing(services, call)
    return respond(_ring(services, line, call.call_sid, line.forward_to))


async def screen(request: web.Request) -> web.Response:
    """Runs on the crew member's phone before the caller is connected."""
    services = request.config_dict[SERVICES]
    parent = request.query.get("parent", "")
    line = services.lines.known(request.query.get("line", ""))
    crew_phone = field(request[FORM], "To").strip()
    if parent and crew_phone:
        await calls.leg_answered(services, parent, crew_phone)
    accept = (
        f"{services.settings.public_url}/twilio/voice/screen-accept?{urlencode({'parent': parent})}"
    )
    gather = Gather(num_digits=1, timeout=6, action=accept)
    gather.say(f"Call for {line.business_name}. Press any key to take it.")
    twiml = VoiceResponse().append(gather)
    twiml.hangup()  # no key: voicemail or a pocket; hang up so the call counts as missed
    return respond(twiml)


async def screen_accept(request: web.Request) -> web.Response:
    services = request.config_dict[SERVICES]
    form = request[FORM]
    parent = request.query.get("parent", "")
    if field(form, "Digits") and parent:
        await services.calls.mark_screened(parent)
        return respond()  # an empty answer connects the caller
    return respond(_hangup())


async def dial_status(request: web.Request) -> web.Response:
    """POST /twilio/voice/dial-status: the <Dial> ended; what the caller hears next is ours."""
    services = request.config_dict[SERVICES]
    form = request[FORM]
    call = _missed_call(form, services)
    line = services.lines.for_number(call.business_number)
    if line is None:
        return respond(_goodbye(await calls.missed_call(services, call)))
    status = field(form, "DialCallStatus")
    # Answered means a person took it: bridged, and (with screening) a key was pressed.
    bridged = field(form, "DialBridged", "true").lower() != "false"
    pressed = (
        status == "completed"
        and line.screen_calls
        and await services.calls.was_screened(call.call_sid)
    )
    if status == "completed" and bridged and (pressed or not line.screen_calls):
        await calls.answered_call(services, call.caller, call.call_sid)
        return respond(_hangup())
    caller_waits = field(form, "CallStatus") not in CALLER_GONE
    if line.screen_calls and not pressed and caller_waits:
        # A phone answered and pressed nothing (a voicemail): the others get their turn. Not
        # read from DialCallStatus (what Twilio reports after a screen hung up is unconfirmed):
        # from the screens that ran this round.
        again = await calls.ring_again(services, call.call_sid, line)
        if again:
            return respond(_ring(services, line, call.call_sid, again))
    outcome = await calls.missed_call(services, call)
    return respond(await _after_missed(services, call, line, outcome))


async def call_status(request: web.Request) -> web.Response:
    """POST /twilio/voice/status: for numbers whose calls are answered elsewhere."""
    services = request.config_dict[SERVICES]
    form = request[FORM]
    if field(form, "Direction") != "inbound":
        return web.Response(status=204)  # our own outbound calls never trigger anything
    if field(form, "CallStatus") in MISSED_DIAL:
        await calls.missed_call(services, _missed_call(form, services))
    return web.Response(status=204)
