"""What each kind of job does: one table from payload type to the module that carries it out.

A job's work either finishes (success, or a permanent failure it has reported) or raises Retry.
"""

from __future__ import annotations

import logging

from bot.domain.jobs import (
    CardUpdate,
    Ephemeral,
    Job,
    LineTypeLookup,
    MediaUpload,
    Notice,
    PlaceCall,
    Reaction,
    SendSms,
    ThreadPost,
    Unpark,
    VoicemailUpload,
    WebhookDelivery,
    WebhookEvent,
)
from bot.domain.plans import WAITING
from bot.outbox import calls, cards, lookups, posts, slack_api, texts, webhooks
from bot.services import Services

log = logging.getLogger(__name__)


async def perform(services: Services, job: Job, *, reclaimed: bool = False) -> None:
    """reclaimed: the job was taken over from a worker presumed dead (it held it too long)."""
    payload = job.payload
    if reclaimed and isinstance(
        payload, ThreadPost | MediaUpload | VoicemailUpload | Notice | Ephemeral
    ):
        # Its worker died holding the post's lease: waiting the lease out would hold the whole
        # thread (and the posts parked behind it) for a minute. A Slack post is at least once,
        # so run it now; it may repeat a post the dead worker made but never recorded.
        # An SMS gets no such takeover: its marker keeps it at most once.
        phone = None if isinstance(payload, Notice | Ephemeral) else payload.place.lead.phone
        if await services.markers.take_over(phone, job.id):
            log.warning("took over a dead worker's lease job=%s", job.id)
    match payload:
        case SendSms():
            await texts.send_sms(services, job, payload, reclaimed=reclaimed)
        case ThreadPost() | MediaUpload() | VoicemailUpload():
            await posts.post_ordered(services, job, payload, reclaimed=reclaimed)
        case Notice():
            await posts.post_notice(services, job, payload)
        case CardUpdate():
            await cards.update_card(services, job, payload)
        case Reaction():
            await _react(services, job, payload)
        case Unpark():
            await posts.unpark(services, job, payload)
        case PlaceCall():
            await calls.place_call(services, job, payload, reclaimed=reclaimed)
        case LineTypeLookup():
            await lookups.look_up(services, payload)
        case Ephemeral():
            await posts.post_ephemeral(services, job, payload)
        case WebhookEvent():
            await webhooks.fan_out(services, job, payload, reclaimed=reclaimed)
        case WebhookDelivery():
            await webhooks.deliver(services, job, payload)


async def _react(services: Services, job: Job, reaction: Reaction) -> None:
    message = reaction.message
    if reaction.name == WAITING and not reaction.remove:
        if not await services.outbox.is_held(message.channel, message.ts):
            # Held up (a Slack outage) past the window: its removal may have run already, and
            # an hourglass added now would stay on a reply long sent.
            return
    method, done_already = (
        ("reactions_remove", "no_reaction")
        if reaction.remove
        else ("reactions_add", "already_reacted")
    )
    try:
        await slack_api.call(
            services,
            None,
            method,
            channel=message.channel,
            timestamp=message.ts,
            name=reaction.name,
        )
    except slack_api.Permanent as exc:
        # Already there (or already gone) is what we wanted; a deleted message has none.
        if done_already not in str(exc) and "message_not_found" not in str(exc):
            log.error("slack reaction failed job=%s error=%s", job.id, exc)
