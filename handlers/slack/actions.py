"""Lead card buttons (block_actions): Claim, Mark booked, Close, Call back, Exclude this number.

Slack wants the 200 within 3 s: we ack, change the state in Redis and queue the card update on the
outbox; no Slack call happens before the answer (Bolt sends it when the listener returns, so
Slack work goes to services.background). Exclude is for admins, known ahead (roles.py); anyone
else is told so, only them, through response_url.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from bot.domain.cards import ACTION_IDS, CALL_BACK_ACTION, EXCLUDE_ACTION
from bot.domain.jobs import LeadThread
from bot.domain.leads import ACTIONS
from bot.flows import call_backs, crew_actions
from bot.services import Services
from handlers.slack import roles
from handlers.slack.commands.admin import COULD_NOT_ASK
from handlers.slack.roles import Role

log = logging.getLogger(__name__)

_BY_ACTION_ID = {ACTION_IDS[a]: a for a in ACTIONS}
BUTTONS = re.compile(r"^lead_")  # the action_id of every button on a lead card
EXCLUDE_REFUSED = (
    "Only admins can exclude a number from auto-texts (ADMIN_USER_IDS, or Slack workspace "
    "admins and owners). Claim, book and close are for everyone."
)


def card_of(body: dict[str, Any]) -> tuple[str, str] | None:
    """(channel, ts) of the message whose button was clicked."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    return (str(channel), str(ts)) if channel and ts else None


async def _exclude_later(
    services: Services, lead: LeadThread, user: str, role: Role | None, respond: Any
) -> None:
    """Someone not known to be an admin pressed Exclude: ask Slack if nobody knows yet."""
    if role is None:
        role = await roles.ask_slack(services, user)
        if role == "admin":
            await crew_actions.exclude(services, lead, user)
            return
    text = COULD_NOT_ASK if role is None else EXCLUDE_REFUSED
    await respond(text=text, response_type="ephemeral", replace_original=False)


async def lead_button(
    services: Services, ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any
) -> None:
    await ack()
    where = card_of(body)
    user = str((body.get("user") or {}).get("id") or "")
    lead = await services.threads.owner(*where) if where else None
    if lead is None or not user:
        return  # not one of our cards (or a card older than we remember)
    action_id = str(action.get("action_id"))
    if action_id == EXCLUDE_ACTION:
        role = await roles.known(services, user)
        if role == "admin":
            await crew_actions.exclude(services, lead, user)
        else:
            services.background.spawn(
                _exclude_later(services, lead, user, role, respond), "exclude"
            )
        return
    if action_id == CALL_BACK_ACTION:
        await call_backs.tap(services, lead, user)
        return
    verb = _BY_ACTION_ID.get(action_id)
    if verb is not None:
        await crew_actions.act(services, lead, verb, user)
