"""Placing a crew member's call back through Twilio's Calls API, at most once.

Like a text, a call is placed at most once: its marker is written before the request, so a
worker killed mid-request leaves the marker and the redelivery places nothing (ringing a
stranger twice is worse than a call back the crew member can tap again). The call first rings
the crew member's phone from the business number; its TwiML (handlers/twilio/call_back.py) asks
for a key press before the caller is dialled.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import aiohttp
from twilio.base.exceptions import TwilioRestException

from bot.domain import call_backs as rules
from bot.domain import twilio_errors
from bot.domain.jobs import Job, PlaceCall
from bot.domain.phone import masked
from bot.flows import call_backs
from bot.outbox.errors import Retry
from bot.services import Services

log = logging.getLogger(__name__)

UNCERTAIN = "a worker stopped while placing it, so it may not have rung; tap Call back again"


async def place_call(services: Services, job: Job, call: PlaceCall, *, reclaimed: bool) -> None:
    markers = services.markers
    lead = call.lead
    start = await markers.start_once(lead.phone, lead.line, job.id)
    if start != "go":
        # 'done': a redelivery. 'running': a worker died mid-request; Twilio may have placed it.
        log.warning("call back skipped job=%s marker=%s", job.id, start)
        if start == "running" and reclaimed:
            await call_backs.not_placed(services, call.call_back, UNCERTAIN)
        return
    base = f"{services.settings.public_url}/twilio/call-back"
    query = urlencode({"cb": call.call_back})
    try:
        placed = await services.twilio.calls.create_async(
            to=call.crew_phone,
            from_=call.from_,
            url=f"{base}/answer?{query}",
            status_callback=f"{base}/status?{query}",
            timeout=rules.CREW_RING_SECONDS,
        )
    except TwilioRestException as exc:
        if twilio_errors.is_retryable(exc.status, exc.code):
            await markers.release_caller_job(lead.phone, job.id)
            throttled = twilio_errors.is_throttled(exc.status, exc.code)
            raise Retry(f"twilio {exc.status} code={exc.code}", throttled=throttled) from exc
        await markers.sms_failed(lead.phone, job.id)
        services.metrics.send_failures.labels("twilio", "permanent").inc()
        log.warning("call back refused job=%s code=%s", job.id, exc.code)
        reason = twilio_errors.describe(exc.code, "Twilio refused the call")
        await call_backs.not_placed(services, call.call_back, reason)
        return
    except (aiohttp.ClientError, TimeoutError) as exc:
        await markers.release_caller_job(lead.phone, job.id)
        raise Retry(f"twilio unreachable: {type(exc).__name__}") from exc
    pipe = services.redis.pipeline(transaction=False)
    markers.finish_sms(pipe, lead.phone, job.id, "done", sent=None)
    await pipe.execute()
    log.info("call back placed sid=%s job=%s crew=%s", placed.sid, job.id, masked(call.crew_phone))
