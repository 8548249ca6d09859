"""What each kind of job does: one table from payload type to the module that carries it out.

A job's work either finishes (success, or a permanent failure it has reported) or raises Retry.
"""

from __future__ import annotations

import logging

from bot.domain.jobs import (
    CardUpdate,
    Job,
    MediaUpload,
    Notice,
    Reaction,
    SendSms,
    ThreadPost,
    Unpark,
    WebhookDelivery,
    WebhookEvent,
)
from bot.outbox import cards, posts, slack_api, texts, webhooks
from bot.services import Services

log = logging.getLogger(__name__)


async def perform(services: Services, job: Job, *, reclaimed: bool = False) -> None:
    """reclaimed: the job was taken over from a worker presumed dead (it held it too long)."""
    payload = job.payload
    if reclaimed and isinstance(payload, ThreadPost | MediaUpload | Notice):
        # Its worker died holding the post's lease: waiting the lease out would hold the whole
        # thread (and the posts parked behind it) for a minute. A Slack post is at least once,
        # so run it now; it may repeat a post the dead worker made but never recorded.
        # An SMS gets no such takeover: its marker keeps it at most once.
        phone = None if isinstance(payload, Notice) else payload.place.lead.phone
        if await services.markers.take_over(phone, job.id):
            log.warning("took over a dead worker's lease job=%s", job.id)
    match payload:
        case SendSms():
            await texts.send_sms(services, job, payload, reclaimed=reclaimed)
        case ThreadPost() | MediaUpload():
            await posts.post_ordered(services, job, payload, reclaimed=reclaimed)
        case Notice():
            await posts.post_notice(services, job, payload)
        case CardUpdate():
            await cards.update_card(services, job, payload)
        case Reaction():
            await _react(services, job, payload)
        case Unpark():
            await posts.unpark(services, payload)
        case WebhookEvent():
            await webhooks.fan_out(services, job, payload, reclaimed=reclaimed)
        case WebhookDelivery():
            await webhooks.deliver(services, job, payload)


async def _react(services: Services, job: Job, reaction: Reaction) -> None:
    message = reaction.message
    try:
        await slack_api.call(
            services,
            None,
            "reactions_add",
            channel=message.channel,
            timestamp=message.ts,
            name=reaction.name,
        )
    except slack_api.Permanent as exc:
        if "already_reacted" not in str(exc):
            log.error("slack reaction failed job=%s error=%s", job.id, exc)
