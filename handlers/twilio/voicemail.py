"""Twilio's callbacks about a missed caller's voicemail: the recording, its transcription, and
what the caller hears once they stop talking.

Both callbacks may come in either order, more than once, or (the transcription) never; each
is answered 204 once stored, and the flow (bot/flows/voicemail.py) dedupes them by Sid.
"""

from __future__ import annotations

import logging

from aiohttp import web
from twilio.twiml.voice_response import VoiceResponse

from bot.domain import voicemail as rules
from bot.flows import voicemail
from handlers.app_keys import SERVICES
from handlers.twilio.twiml import respond
from handlers.twilio.verify import FORM, field, required

log = logging.getLogger(__name__)


def _seconds(raw: str) -> int:
    try:
        return max(0, int(float(raw)))
    except ValueError:
        raise web.HTTPBadRequest(text="RecordingDuration: not a number of seconds") from None


async def recording(request: web.Request) -> web.Response:
    """POST /twilio/voice/recording: the recording status callback (completed, or failed)."""
    services = request.config_dict[SERVICES]
    form = request[FORM]
    if field(form, "RecordingStatus", "completed") != "completed":
        log.warning("recording %s sid=%s", field(form, "RecordingStatus"), field(form, "CallSid"))
        return web.Response(status=204)
    outcome = await voicemail.recorded(
        services,
        call_sid=required(form, "CallSid"),
        recording_sid=required(form, "RecordingSid"),
        url=required(form, "RecordingUrl"),
        seconds=_seconds(required(form, "RecordingDuration")),
    )
    if outcome == "unknown":
        log.warning("recording for a call we never offered voicemail sid=%s", form["CallSid"])
    return web.Response(status=204)


async def transcription(request: web.Request) -> web.Response:
    """POST /twilio/voice/transcription: Twilio's transcript (TranscriptionStatus failed: none)."""
    services = request.config_dict[SERVICES]
    form = request[FORM]
    done = field(form, "TranscriptionStatus") == "completed"
    await voicemail.transcribed(
        services,
        call_sid=required(form, "CallSid"),
        recording_sid=required(form, "RecordingSid"),
        url=required(form, "RecordingUrl"),
        transcription_sid=required(form, "TranscriptionSid"),
        text=field(form, "TranscriptionText") if done else "",
    )
    return web.Response(status=204)


async def recorded(request: web.Request) -> web.Response:
    """POST /twilio/voice/recorded: the <Record action>. The caller stopped talking (or pressed
    a key, or hung up: then nobody hears this); the recording's callbacks carry the message."""
    twiml = VoiceResponse()
    twiml.say(rules.THANKS)
    twiml.hangup()
    return respond(twiml)
