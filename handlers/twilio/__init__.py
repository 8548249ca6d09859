"""Twilio's webhooks: an aiohttp sub-app that the app factory (bot/app.py) mounts at /twilio.

The sub-app's middleware (verify.py) checks X-Twilio-Signature before any route runs, so a route
added to ROUTES can't forget it; handlers read the verified form from `request[FORM]` and the
services from `request.config_dict[SERVICES]`. voice.py: calls, screening, missed calls;
voicemail.py: a missed caller's recording and its transcript; call_back.py: a crew member's call
back from the business number; sms.py: texts from callers and delivery status; twiml.py: the
answers.

May import bot.flows, bot.domain, bot.services, bot.settings and handlers.app_keys (storage through
the services' verbs); only the app factory imports this package.
"""

from __future__ import annotations

from aiohttp import web

from bot.settings import Settings
from handlers.twilio import call_back, sms, voice, voicemail
from handlers.twilio.verify import VERIFIER, TwilioVerifier, signed_by_twilio

# Paths below the mount point: /voice is Twilio's /twilio/voice. The URLs we hand Twilio in TwiML
# (voice.py) and the ones configured on the number spell out /twilio.
ROUTES = (
    web.post("/voice", voice.incoming_call),
    web.post("/voice/screen", voice.screen),
    web.post("/voice/screen-accept", voice.screen_accept),
    web.post("/voice/dial-status", voice.dial_status),
    web.post("/voice/status", voice.call_status),
    web.post("/voice/recording", voicemail.recording),
    web.post("/voice/transcription", voicemail.transcription),
    web.post("/voice/recorded", voicemail.recorded),
    web.post("/call-back/answer", call_back.answer),
    web.post("/call-back/connect", call_back.connect),
    web.post("/call-back/dialled", call_back.dialled),
    web.post("/call-back/status", call_back.status),
    web.post("/sms", sms.incoming_text),
    web.post("/sms/status", sms.message_status),
)


def create_subapp(settings: Settings) -> web.Application:
    """Every Twilio route behind the signature check; mount with app.add_subapp("/twilio", ...).

    Bodies are capped by the parent app's client_max_size: aiohttp reads a request with the
    settings of the app that accepted the connection."""
    app = web.Application(middlewares=[signed_by_twilio])
    app[VERIFIER] = TwilioVerifier(settings)
    app.add_routes(ROUTES)
    return app
