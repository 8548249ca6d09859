"""TwiML answers, built with twilio's own VoiceResponse."""

from __future__ import annotations

from aiohttp import web
from twilio.twiml.voice_response import VoiceResponse


def respond(twiml: VoiceResponse | str | None = None) -> web.Response:
    body = twiml if isinstance(twiml, str) else str(twiml or VoiceResponse())
    return web.Response(text=body, content_type="text/xml")
