"""The crew's reply in a caller's thread goes out as a text from the business number."""

from __future__ import annotations

from bot.domain import plans
from bot.domain.events import CrewReply
from bot.flows import leads
from bot.services import Services


async def crew_reply(services: Services, reply: CrewReply) -> bool:
    """False when the thread is not a caller's (an ordinary conversation in the channel)."""
    lead = await services.threads.owner(reply.channel, reply.thread_ts)
    if lead is None:
        return False
    if reply.text:  # a photo alone never reaches the caller: they still wait for an answer
        await leads.human_answered(services, lead.phone, lead.line, lead.lead_id)
    caller = await services.callers.caller(lead.phone, lead.line)
    await services.outbox.enqueue(plans.plan_crew_reply(reply, lead, caller))
    return True
