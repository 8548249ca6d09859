"""What a job leaves behind when the worker gives up on it after its last retry.

Nothing gives up silently: a text that never went out is told in its thread (and the crew's
message gets ⚠️), a caller's post that never got its place comes as a notice carrying it, a
photo's or a voicemail's absence is told, a call back that could not be placed is told. A lead
card is never given up on: it is retried as a card, so its thread keeps its parent. Notices,
reactions and card updates leave the dead list, the log and the counts (/metrics,
/healthz?deep=1): a notice about a failed notice would fail the same way. A webhook delivery
never gets here: the worker keeps it as failed with those its receiver failed
(bot/outbox/webhooks.py), for `/textback webhook retry`; a webhook event is buried like a
notice.
"""

from __future__ import annotations

from bot.domain import given_up
from bot.domain.jobs import Job, MediaUpload, PlaceCall, SendSms, ThreadPost, VoicemailUpload
from bot.flows import call_backs
from bot.outbox import posts, texts
from bot.services import Services


async def leave_trace(services: Services, job: Job, attempts: int, reason: str) -> Job | None:
    """Tells the crew; returns the job to queue again instead of burying it (a lead card)."""
    why = given_up.gave_up(attempts, reason)
    payload = job.payload
    if isinstance(payload, SendSms):
        await texts.gave_up(services, job, payload, why)
    elif isinstance(payload, ThreadPost | MediaUpload | VoicemailUpload):
        return await posts.gave_up(services, job, payload, why)
    elif isinstance(payload, PlaceCall):
        await call_backs.not_placed(services, payload.call_back, why)
    return None
