"""`/textback exclude add|remove|list`: numbers that never get an auto-text.

Personal contacts, suppliers, existing customers. Their calls still post to Slack. Anyone may
read the list; changing it is for admins (a number taken off stops getting the auto-text, one
put on starts getting it again). An opt-out is a different thing and no command lifts it.
Several numbers at once: separated by commas, a note after the last applies to each. A whole
phone's contacts: `python -m bot exclude import contacts.csv` (or .vcf).
"""

from __future__ import annotations

from bot.domain.phone import InvalidNumber, numbers_and_rest, pretty
from bot.domain.slack_text import escape
from handlers.slack.commands.admin import refusal
from handlers.slack.commands.invocation import Invocation

USAGE = (
    "Usage: `/textback exclude add <number>[, <number>…] [note]`, "
    "`/textback exclude remove <number>[, <number>…]` or `/textback exclude list`. Numbers in "
    "any common form: +12025550123, (202) 555-0123, 202.555.0123. A phone's whole contact list: "
    "`python -m bot exclude import contacts.csv` (or a .vcf) on the server."
)
LISTED = 100  # numbers `exclude list` shows; an imported contact list holds hundreds


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
        phones, note = numbers_and_rest(rest)
    except InvalidNumber as exc:
        # Nothing is saved when one piece is wrong: the whole command is easy to send again.
        return f"{escape(str(exc))}.\n{USAGE}" if rest.strip() else f"Which number?\n{USAGE}"
    if verb == "remove" and note:
        return f"`exclude remove` takes only numbers.\n{USAGE}"
    answers = [await _one(invocation, verb, phone, note) for phone in phones]
    return "\n".join(answers)


async def _one(invocation: Invocation, verb: str, phone: str, note: str) -> str:
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
    for phone in sorted(excluded)[:LISTED]:
        entry = excluded[phone]
        where = ""
        if services.lines.several:
            found = services.lines.by_id(entry.line)
            where = f" (added in <#{found.channel_id}>)" if found else ""
        note = f" — {escape(entry.note)}" if entry.note else ""
        lines.append(f"• {pretty(phone)}{note}{where}")
    if len(excluded) > LISTED:
        lines.append(f"…and {len(excluded) - LISTED} more.")
    return "\n".join(lines)
