"""`/textback stats [7d|30d]`: the stats card, answered in the ack."""

from __future__ import annotations

from bot.flows import reports
from handlers.slack.commands.invocation import Invocation, Reply

PERIODS = {"7d": 7, "week": 7, "30d": 30, "month": 30}


async def stats(invocation: Invocation) -> str | Reply:
    period = (invocation.args[0] if invocation.args else "7d").lower()
    days = PERIODS.get(period)
    if days is None:
        return f"I don't know the period `{period}`. Usage: `/textback stats [7d|30d]`"
    services = invocation.services
    if invocation.line is not None:
        title = "Textback" + (
            f" · {invocation.line.business_name}" if services.lines.several else ""
        )
        text, blocks = await reports.stats_card(services, [invocation.line.id], days, title)
    else:  # typed outside every line's channel: the totals across lines
        every = [line.id for line in services.lines.all]
        text, blocks = await reports.stats_card(services, every, days, "Textback · all lines")
    return Reply(text, blocks)
