"""Twilio messaging webhooks: texts from callers, and delivery status of texts we sent.

We never answer a caller's text automatically except STOP/START/HELP: this is not a chatbot.
The reply to Twilio is always an empty <Response/>; any text we send goes through the outbox.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiohttp import web
from multidict import MultiDictProxy

from bot.domain.events import InboundText
from bot.domain.keywords import classify
from bot.domain.phone import InvalidNumber, caller_number, to_e164
from bot.flows import caller_texts, text_status
from bot.services import Services
from handlers.app_keys import SERVICES
from handlers.twilio.verify import FORM, field, required

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
MAX_MEDIA = 10  # Twilio's own cap per MMS


def _media(form: MultiDictProxy[str]) -> tuple[tuple[str, str], ...]:
    raw = field(form, "NumMedia", "0").strip() or "0"
    if not (raw.isascii() and raw.isdigit()):
        # Twilio never sends this; the text itself still goes to the thread (a 400 would lose it).
        log.warning("NumMedia unreadable, media ignored sid=%s", field(form, "MessageSid"))
        return ()
    found = []
    for index in range(min(int(raw), MAX_MEDIA)):
        url = field(form, f"MediaUrl{index}")
        if url.startswith(("https://", "http://")):
            found.append((url, field(form, f"MediaContentType{index}", "application/octet-stream")))
    return tuple(found)


def _inbound(form: MultiDictProxy[str], services: Services) -> InboundText | None:
    caller = caller_number(field(form, "From"))
    if caller is None:
        return None
    try:
        business_number = to_e164(required(form, "To"))
    except InvalidNumber as exc:
        raise web.HTTPBadRequest(text=f"To: {exc}") from None
    body = field(form, "Body")
    opt_out_type = field(form, "OptOutType").strip() or None
    return InboundText(
        message_sid=required(form, "MessageSid"),
        caller=caller,
        business_number=business_number,
        body=body,
        action=classify(body, opt_out_type),
        twilio_answered=opt_out_type is not None,
        at=datetime.fromtimestamp(services.clock(), UTC),
        media=_media(form),
    )


async def incoming_text(request: web.Request) -> web.Response:
    """POST /twilio/sms."""
    services = request.config_dict[SERVICES]
    form = request[FORM]
    text = _inbound(form, services)
    if text is None:
        log.warning("text from unusable sender ignored sid=%s", field(form, "MessageSid"))
    else:
        await caller_texts.inbound_text(services, text)
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


async def message_status(request: web.Request) -> web.Response:
    """POST /twilio/sms/status: a text we sent failed later (carrier, handset, opt-out)."""
    services = request.config_dict[SERVICES]
    form = request[FORM]
    status = field(form, "MessageStatus")
    if status not in ("failed", "undelivered"):
        return web.Response(status=204)
    sid = required(form, "MessageSid")
    try:
        code: int | None = int(field(form, "ErrorCode"))
    except ValueError:
        code = None
    await text_status.undelivered(services, sid, status, code)
    return web.Response(status=204)
