"""`/textback me [phone <number> | phone off]`: the phone a crew member's call backs ring.

A call back from a lead card rings this phone first, from the business number, then connects
the caller: the caller sees the business number, never the crew member's own.
"""

from __future__ import annotations

from bot.domain.phone import InvalidNumber, pretty, to_e164
from bot.domain.slack_text import escape
from handlers.slack.commands.invocation import Invocation

USAGE = (
    "Usage: `/textback me phone <your number>` (any common form: +12025550123, (202) 555-0123), "
    "`/textback me phone off`, or `/textback me` to see it."
)


async def me(invocation: Invocation) -> str:
    services = invocation.services
    user = invocation.user_id
    words = invocation.args
    if not words:
        phone = await services.crew.phone(user)
        if phone is None:
            return (
                "No phone registered for your call backs. "
                "Register yours with `/textback me phone <your number>`."
            )
        return (
            f"Your call backs ring {pretty(phone)}, from the business number. "
            "`/textback me phone off` removes it."
        )
    if words[0].lower() != "phone" or len(words) < 2:
        return USAGE
    rest = " ".join(words[1:])
    if rest.lower() == "off":
        removed = await services.crew.forget(user)
        if removed is None:
            return "You had no phone registered."
        return f"Removed {pretty(removed)}: *Call back* will ask you to register a phone again."
    try:
        phone = to_e164(rest)
    except InvalidNumber:
        return f"`{escape(rest[:40])}` is not a phone number I can call.\n{USAGE}"
    if any(phone in line.numbers for line in services.lines.all):
        return f"{pretty(phone)} is one of the business's own numbers: register your own phone."
    previous = await services.crew.register(user, phone)
    was = f" (was {pretty(previous)})" if previous and previous != phone else ""
    return (
        f"Saved: your call backs ring {pretty(phone)}{was}. Tap *Call back* on a lead card: "
        "answer, press any key, and you're connected; the caller sees the business number."
    )
