"""Posting into a caller's Slack thread, strictly in order, at least once; and notices.

A post in a caller's thread runs when the one before it is done (storage/threads.py); one that
comes early parks and is handed on. A Slack post is at least once: its marker is written after
the post, so a worker killed in between may post it again, while a caller's reply that never
reaches the crew would be a lost job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import RedisError

from bot.domain import cards
from bot.domain.jobs import Job, MediaUpload, Notice, ThreadPost, Unpark
from bot.flows import leads
from bot.flows import webhooks as webhook_flows
from bot.outbox import media, slack_api
from bot.outbox.errors import Retry
from bot.outbox.pacing import take_turn
from bot.services import Services
from storage.threads import PostedCard

log = logging.getLogger(__name__)
T = TypeVar("T")

SLACK_LEASE = 60  # seconds a Slack post is "running" before another worker may take it over
BUSY_RECHECK = 2.0  # seconds before a post held by another delivery is looked at again
RECORD_PATIENCE = 60  # seconds a finished post waits for Redis to record it
PARK_TIMEOUT = 600  # a post waits this long for the one before it, then goes anyway


async def post_ordered(
    services: Services, job: Job, post: ThreadPost | MediaUpload, *, reclaimed: bool
) -> None:
    """A post in a caller's thread, strictly after the posts planned before it."""
    threads = services.threads
    place = post.place
    lead = place.lead
    start = await threads.start_post(place, job, SLACK_LEASE)
    release = Job(
        f"unpark:{lead.phone}:{lead.line}:{place.seq}", Unpark(lead.phone, lead.line, place.seq)
    )
    if start.state == "parked":
        await services.outbox.retry_later(release, services.clock() + PARK_TIMEOUT)
        if not await threads.is_parked(lead.phone, lead.line, place.seq):
            # Its turn came between parking and setting the timer (the timer is in the outbox's
            # slot, not the caller's, so not in the same script): the delivery that took it may
            # have cancelled the timer before it existed. Cancel it here; else it lingers as
            # outbox depth for PARK_TIMEOUT.
            await services.outbox.cancel_retry(release)
        return
    if start.was_parked or reclaimed:
        # Its turn came: the release timer set while it waited would linger as outbox depth.
        # (A reclaimed delivery cannot know whether its dead worker got to cancel it.)
        await services.outbox.cancel_retry(release)
    if start.state == "done" and reclaimed:
        # Its worker recorded the post and died before handing on the one parked behind it,
        # which would wait out PARK_TIMEOUT: hand it on (a second copy is deduped by its start).
        following = await threads.parked_after(place)
        if following is not None:
            await services.outbox.enqueue([following])
        return
    if start.state == "done":
        return  # a redelivery
    if start.state == "busy":
        # Another delivery holds the lease: a duplicate of a live job, or the job of a worker
        # that died mid-post (reclaimed before its lease ran out). Dropping it would lose the
        # post in the second case, so look again soon; once the lease is gone, it runs.
        raise Retry("another delivery holds the post", after=min(start.lease_left, BUSY_RECHECK))
    outcome, card = "done", None
    if start.state == "run":
        try:
            await take_turn(services, job, lead.channel, services.settings.slack_posts_per_second)
            if isinstance(post, MediaUpload):
                await media.upload(services, post, start.card_ts)
            else:
                card = await _post(services, job, post, start.card_ts)
        except Retry:
            # Let the retry take the lease again.
            await services.markers.release_caller_job(lead.phone, job.id)
            raise
        except slack_api.Permanent as exc:
            log.error("slack post failed job=%s error=%s", job.id, exc)
            outcome = "failed"
            await services.records.note_error(f"Slack: {exc}")
            if isinstance(post, ThreadPost) and post.card:
                # No card update will ever find it: stop them waiting.
                await services.leads.card_failed(lead.phone, lead.lead_id)
    # 'finished': posted before a crash kept us from recording the turn; record it now.
    following, stale = await _recording(lambda: threads.finish_post(place, job.id, outcome, card))
    if following is not None:
        await services.outbox.enqueue([following])
    if stale:
        # Changed while the card was on its way (changes before the card queue no update).
        await leads.queue_update(services, lead.phone, lead.lead_id)
    if isinstance(post, ThreadPost) and post.card:
        # Webhook events that waited for the card (to carry its link) go on, posted or not.
        await webhook_flows.card_posted(services, lead.phone, lead.line, lead.lead_id)


async def _post(
    services: Services, job: Job, post: ThreadPost, card_ts: str | None
) -> PostedCard | None:
    """Posts; returns where it went and the lead version it shows when this was the card."""
    lead = post.place.lead
    text, blocks, rendered = post.text, post.blocks or None, 0
    if post.card:  # the lead card: Block Kit from the lead's state, the plain text as fallback
        state = await services.leads.set_summary(lead.phone, lead.lead_id, post.text)
        text, blocks, rendered = cards.fallback_text(state), cards.blocks(state), state.version
    response = await slack_api.call(
        services,
        lead.channel,
        "chat_postMessage",
        channel=lead.channel,
        text=text,
        blocks=blocks,
        thread_ts=None if post.card else card_ts,
        reply_broadcast=True if post.broadcast else None,
        unfurl_links=False,
        unfurl_media=False,
    )
    if job.id.startswith("in:") and not job.id.endswith(":card"):
        services.metrics.relayed.labels("to_slack").inc()
    return PostedCard(lead.channel, str(response["ts"]), rendered) if post.card else None


async def post_notice(services: Services, job: Job, notice: Notice) -> None:
    """A post outside any thread's order: the thread given, the lead's thread, or the channel."""
    markers = services.markers
    previous = await markers.begin(job.id, lease_seconds=SLACK_LEASE)
    if previous == "running":
        # As for a thread post: its holder may have died mid-post; look again until it is done.
        raise Retry("another delivery holds the notice", after=BUSY_RECHECK)
    if previous is not None:
        return
    thread_ts = notice.thread_ts
    if not thread_ts and notice.lead is not None:
        thread_ts = await services.threads.card_ts(notice.lead.phone, notice.lead.lead_id)
    try:
        await take_turn(services, job, notice.channel, services.settings.slack_posts_per_second)
        await slack_api.call(
            services,
            notice.channel,
            "chat_postMessage",
            channel=notice.channel,
            text=notice.text,
            blocks=notice.blocks,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
        )
    except slack_api.Permanent as exc:
        log.error("slack notice failed job=%s error=%s", job.id, exc)
        await services.records.note_error(f"Slack: {exc}")
    except Retry:
        await markers.release(job.id)
        raise
    await markers.done(job.id)


async def unpark(services: Services, release: Unpark) -> None:
    waiting = await services.threads.unpark(release.phone, release.line, release.seq)
    if waiting is not None:
        log.warning("slack post released after waiting %ss job=%s", PARK_TIMEOUT, waiting.id)
        await services.outbox.enqueue([waiting])


async def _recording(step: Callable[[], Awaitable[T]]) -> T:
    """Record what already went out to Slack, waiting out a short Redis outage: a post left
    unrecorded is posted again by whoever takes the job over."""
    deadline = asyncio.get_running_loop().time() + RECORD_PATIENCE
    while True:
        try:
            return await step()
        except RedisError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.warning("redis unavailable; will record the post when it is back")
            await asyncio.sleep(1.0)  # waiting for Redis to come back, nothing to await on
