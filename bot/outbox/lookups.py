"""Twilio Lookup's line type of a caller's number (LOOKUP_LINE_TYPE), kept for 30 days.

Paid per lookup, so one per number a month: the flow queues it only when the number's type is
neither known nor being looked up. A lookup that fails for good stores "unknown": the caller is
then treated as texting-capable, as without the setting.
"""

from __future__ import annotations

import logging

import aiohttp
from twilio.base.exceptions import TwilioRestException

from bot.domain import twilio_errors
from bot.domain.jobs import LineTypeLookup
from bot.domain.phone import masked
from bot.outbox.errors import Retry
from bot.services import Services

log = logging.getLogger(__name__)


async def look_up(services: Services, lookup: LineTypeLookup) -> None:
    try:
        found = await services.twilio.lookups.v2.phone_numbers(lookup.phone).fetch_async(
            fields="line_type_intelligence"
        )
    except TwilioRestException as exc:
        if twilio_errors.is_retryable(exc.status, exc.code):
            throttled = twilio_errors.is_throttled(exc.status, exc.code)
            raise Retry(f"lookup {exc.status} code={exc.code}", throttled=throttled) from exc
        log.warning("lookup refused to=%s code=%s", masked(lookup.phone), exc.code)
        await services.calls.set_line_type(lookup.phone, "unknown")
        return
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise Retry(f"lookup unreachable: {type(exc).__name__}") from exc
    intelligence = found.line_type_intelligence or {}
    line_type = str(intelligence.get("type") or "unknown")
    await services.calls.set_line_type(lookup.phone, line_type)
    log.info("line type %s to=%s", line_type, masked(lookup.phone))
