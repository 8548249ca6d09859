"""Twilio messaging webhooks: texts from callers, and delivery status of texts we sent.

We never answer a caller's text automatically except STOP/START/HELP: this is not a chatbot.
The reply to Twilio is always an empty <Response/>; any text we send goes through the outbox.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiohttp import web
from multidict import MultiDictProxy

from bot.domain import jobs, twilio_errors
from bot.domain.keywords import classify
from bot.domain.phone import InvalidNumber, caller_number, masked, to_e164
from bot.domain.plans import InboundText
from bot.flows import calls as flows
from bot.outbox.perform import lead_notice
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
        await flows.inbound_text(services, text)
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


async def message_status(request: web.Request) -> web.Response:
    """POST /twilio/sms/status: a text we sent failed later (carrier, handset, opt-out)."""
    services = request.config_dict[SERVICES]
    form = request[FORM]
    status = field(form, "MessageStatus")
    if status not in ("failed", "undelivered"):
        return web.Response(status=204)
    sid = required(form, "MessageSid")
    sent = await services.store.sent_sms(sid)
    if sent is None:
        return web.Response(status=204)  # not ours, or from before we kept records
    try:
        code: int | None = int(field(form, "ErrorCode"))
    except ValueError:
        code = None
    if code == twilio_errors.OPTED_OUT:
        await services.store.record_opt_out(
            sent["to"],
            sent["line"],
            services.clock(),
            source="carrier",
            message=f"Twilio error 21610 in the status of the {sent['purpose']}",
            message_sid=sid,
        )
    reason = twilio_errors.describe(code, f"the carrier reported it {status}")
    log.info("sms %s sid=%s to=%s code=%s", status, sid, masked(sent["to"]), code)
    notify = sent["notify"]
    text = f":warning: Text not delivered ({sent['purpose']}): {reason}."
    # In the lead's thread after its card, even when Slack is slow to take the card.
    follow_up = [await lead_notice(services, f"status:{sid}:{status}", notify, sent["line"], text)]
    if sent.get("react_on"):
        where = sent["react_on"]
        follow_up.append(
            jobs.react(f"react:{sid}:undelivered", where["channel"], where["ts"], "warning")
        )
    await services.outbox.enqueue(follow_up)
    return web.Response(status=204)
