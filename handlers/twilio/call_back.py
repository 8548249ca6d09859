"""A crew member's call back, as Twilio drives it (the call is placed by bot/outbox/calls.py).

answer: the crew member's phone picked up; they hear who they are calling and must press a
key (a voicemail presses nothing, so it never calls the caller). connect: the key press; the
caller is dialled with the business number as caller ID. dialled: the caller's leg ended (its
DialCallStatus and DialCallDuration are the call's real outcome). status: the crew member's
own leg ended. Every URL carries the call back's id (`cb`), which Twilio signs with the rest.
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from bot.domain import call_backs as rules
from bot.flows import call_backs
from handlers.app_keys import SERVICES
from handlers.twilio.twiml import respond
from handlers.twilio.verify import FORM, field


def _goodbye(words: str = "Goodbye.") -> VoiceResponse:
    twiml = VoiceResponse()
    twiml.say(words)
    twiml.hangup()
    return twiml


def _url(request: web.Request, step: str, call_back_id: str) -> str:
    public = request.config_dict[SERVICES].settings.public_url
    return f"{public}/twilio/call-back/{step}?{urlencode({'cb': call_back_id})}"


async def answer(request: web.Request) -> web.Response:
    """POST /twilio/call-back/answer: the Calls API's Url, run when the crew member answers."""
    services = request.config_dict[SERVICES]
    call_back_id = request.query.get("cb", "")
    call_back = await call_backs.answered(services, call_back_id)
    if call_back is None:
        return respond(_goodbye("This call back is no longer available. Goodbye."))
    business = services.lines.known(call_back.line).business_name
    gather = Gather(
        num_digits=1, timeout=rules.PRESS_SECONDS, action=_url(request, "connect", call_back_id)
    )
    gather.say(rules.prompt(business, call_back.callee))
    twiml = VoiceResponse().append(gather)
    twiml.hangup()  # no key: a voicemail, or they changed their mind; the caller isn't called
    return respond(twiml)


async def connect(request: web.Request) -> web.Response:
    """POST /twilio/call-back/connect: the <Gather action>; dial the caller on a key press."""
    services = request.config_dict[SERVICES]
    if not field(request[FORM], "Digits"):
        return respond(_goodbye())
    call_back_id = request.query.get("cb", "")
    call_back = await call_backs.pressed(services, call_back_id)
    if call_back is None:
        return respond(_goodbye("This call back is no longer available. Goodbye."))
    dial = Dial(
        caller_id=call_back.business_number,  # the caller sees the number they called
        time_limit=rules.TIME_LIMIT,
        action=_url(request, "dialled", call_back_id),
    )
    dial.number(call_back.phone)
    return respond(VoiceResponse().append(dial))


def _whole_seconds(raw: str) -> int:
    try:
        return max(0, int(float(raw or "0")))
    except ValueError:
        return 0


async def dialled(request: web.Request) -> web.Response:
    """POST /twilio/call-back/dialled: the <Dial action>, once the caller's leg ended."""
    services = request.config_dict[SERVICES]
    form = request[FORM]
    status = field(form, "DialCallStatus")
    seconds = _whole_seconds(field(form, "DialCallDuration"))
    await call_backs.dialled(services, request.query.get("cb", ""), status, seconds)
    return respond(_goodbye(rules.spoken_result(status)))


async def status(request: web.Request) -> web.Response:
    """POST /twilio/call-back/status: the crew member's leg ended (completed, no-answer, ...)."""
    services = request.config_dict[SERVICES]
    call_status = field(request[FORM], "CallStatus")
    if call_status in ("completed", "no-answer", "busy", "failed", "canceled"):
        await call_backs.ended(services, request.query.get("cb", ""), call_status)
    return web.Response(status=204)
