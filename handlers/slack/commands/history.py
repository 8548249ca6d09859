"""`/textback history <number>`: a number's consent ledger, ephemeral; for admins only, since
it shows the IP address and browser kept with a consent."""

from __future__ import annotations

from bot.domain import consent
from bot.domain.phone import InvalidNumber, to_e164
from handlers.slack.commands.admin import refusal
from handlers.slack.commands.invocation import Invocation

SHOWN = 40  # Slack shows ~40 lines comfortably; the export has everything
USAGE = "history <number>"


async def history(invocation: Invocation) -> str:
    denied = refusal(invocation.services, invocation.role)
    if denied:
        return denied.replace("change this", "read a number's history")
    if not invocation.text:
        return f"Usage: `/textback {USAGE}`, e.g. `/textback history (202) 555-0123`"
    try:
        phone = to_e164(invocation.text)
    except InvalidNumber:
        shown = invocation.text[:40].replace("`", "'")
        return (
            f"`{shown}` is not a phone number I can read. "
            f"Usage: `/textback {USAGE}`, e.g. `/textback history +1 202 555 0123`"
        )
    services = invocation.services
    line = invocation.line or services.lines.known("")
    ledger = services.ledger
    entries = await ledger.history(phone, newest=SHOWN)
    total = await ledger.count(phone)
    opted_out = await services.callers.is_opted_out(phone, line.id)
    return consent.history_text(phone, entries, total, line.timezone, opted_out)
