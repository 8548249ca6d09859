"""Nobody answered a caller's text: the reminders that come due, from the worker's loop."""

from __future__ import annotations

from bot.domain import oncall, reminders
from bot.domain.jobs import Job, LeadThread, Notice
from bot.services import Services


async def fire_due(services: Services) -> int:
    """Post each reminder that came due (its id makes a second enqueue harmless)."""
    store = services.leads
    fired = 0
    now = services.clock()
    for due in await store.due_reminders(now):
        phone, lead_id, n = due["phone"], due["lead_id"], int(due["n"])
        waiting = await store.waiting_since(phone, lead_id)
        if waiting is not None and f"{float(waiting):.3f}" == due["since"]:
            lead = await store.get(phone, lead_id)
            if lead.open and lead.channel:
                line = await services.lines.current(due["line"])
                person = lead.claimer or oncall.on_call(line, now)
                escalate = services.settings.reminder_escalate
                who = reminders.mention(n, person, escalate)
                minutes = services.settings.reply_sla_minutes
                text = reminders.text(n, minutes, who, landline=lead.landline)
                thread = LeadThread(phone, due["line"], lead_id, lead.channel)
                job_id = f"remind:{lead_id}:{due['since']}:{n}"
                await services.outbox.enqueue(
                    [Job(job_id, Notice(lead.channel, text, lead=thread))]
                )
                fired += 1
        await store.drop_reminder(due)
    return fired
