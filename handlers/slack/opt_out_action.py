"""The "Record opt-out" button under a text that reads like an opt-out (Slack interactivity)."""

from __future__ import annotations

import json
import logging
from typing import Any

from bot.domain import consent
from bot.domain.phone import InvalidNumber, to_e164
from bot.flows import crew_actions
from bot.services import Services

log = logging.getLogger(__name__)

ACTION_ID = consent.RECORD_OPT_OUT_ACTION


async def record_opt_out(
    services: Services, ack: Any, body: dict[str, Any], action: dict[str, Any]
) -> None:
    await ack()
    try:
        value = json.loads(str(action.get("value") or ""))
        phone = to_e164(str(value["phone"]))
        line, sid = str(value["line"]), str(value.get("sid") or "-")
    except (ValueError, KeyError, TypeError, InvalidNumber):
        log.warning("opt-out button with an unreadable value ignored")
        return
    user_id = str((body.get("user") or {}).get("id") or "unknown")
    channel = str((body.get("channel") or {}).get("id") or services.lines.known(line).channel_id)
    message = body.get("message") or {}
    thread_ts = str(message.get("thread_ts") or message.get("ts") or "")
    await crew_actions.record_opt_out(
        services,
        phone=phone,
        line=line,
        user_id=user_id,
        channel=channel,
        thread_ts=thread_ts,
        sid=sid,
    )
