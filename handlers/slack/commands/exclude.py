"""`/textback exclude add|remove|list`: numbers that never get an auto-text.

Personal contacts, suppliers, existing customers. Their calls still post to Slack. Anyone may
read the list; changing it is for admins (a number taken off stops getting the auto-text, one
put on starts getting it again). An opt-out is a different thing and no command lifts it.
"""

from __future__ import annotations

from bot.domain.phone import InvalidNumber, number_and_rest, pretty
from bot.domain.slack_text import escape
from handlers.slack.commands.admin import refusal
from handlers.slack.commands.invocation import Invocation

USAGE = (
    "Usage: `/textback exclude add <number> [note]`, `/textback exclude remove <number>` or "
    "`/textback exclude list`. Numbers in any common form: +12025550123, (202) 555-0123, "
    "202.555.0123."
)


async def exclude(invocation: Invocation) -> str:
    verb, _, rest = invocation.text.partition(" ")
    verb = verb.lower()
    if verb == "list" and not rest.strip():
        return await _list(invocation)
    if verb not in ("add", "remove"):
        return USAGE
    denied = refusal(invocation.services, invocation.role)
    if denied:
        return denied
    try:
        phone, note = number_and_rest(rest)
    except InvalidNumber as exc:
        return f"{exc}.\n{USAGE}" if rest.strip() else f"Which number?\n{USAGE}"
    services = invocation.services
    line = invocation.line or services.lines.known("")
    caller = await services.callers.caller(phone, line.id)
    opted_out = "opted_out" in caller
    if verb == "add":
        await services.callers.exclude(phone, invocation.line.id if invocation.line else "", note)
        text = f"Excluded {pretty(phone)}" + (f" ({escape(note)})" if note else "") + "."
        text += " Its calls still show here, with no auto-text."
        if opted_out:
            text += " It has also opted out (texted STOP)."
        return text
    if note:
        return f"`exclude remove` takes only the number.\n{USAGE}"
    removed = await services.callers.unexclude(phone)
    text = (
        f"Removed {pretty(phone)} from the exclusion list."
        if removed
        else f"{pretty(phone)} was not on the exclusion list."
    )
    if opted_out:
        text += (
            " It stays opted out (they texted STOP): no command lifts that, only their own START."
        )
    return text


async def _list(invocation: Invocation) -> str:
    services = invocation.services
    excluded = await services.callers.excluded()
    if not excluded:
        return "No numbers are excluded. Add one with `/textback exclude add <number> [note]`."
    lines = [f"*Excluded numbers* ({len(excluded)}):"]
    for phone in sorted(excluded):
        entry = excluded[phone]
        where = ""
        if services.lines.several:
            found = services.lines.by_id(entry.line)
            where = f" (added in <#{found.channel_id}>)" if found else ""
        note = f" — {escape(entry.note)}" if entry.note else ""
        lines.append(f"• {pretty(phone)}{note}{where}")
    return "\n".join(lines)
