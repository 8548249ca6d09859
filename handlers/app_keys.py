"""Typed keys for what the aiohttp app holds."""

from __future__ import annotations

from aiohttp import web

from bot.services import Services
from handlers.twilio.verify import TwilioVerifier

SERVICES = web.AppKey("services", Services)
TWILIO = web.AppKey("twilio_verifier", TwilioVerifier)
