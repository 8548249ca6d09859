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
from dataclasses import replace
from typing import TypeVar

from redis.exceptions import RedisError

from bot.domain import cards, given_up
from bot.domain.jobs import (
    Ephemeral,
    Job,
    LeadThread,
    MediaUpload,
    Notice,
    Place,
    ThreadPost,
    Unpark,
    VoicemailUpload,
)
from bot.domain.plans import caller_label
from bot.flows import leads
from bot.flows import webhooks as webhook_flows
from bot.outbox import media, slack_api, voicemail
from bot.outbox.errors import Held, Retry
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
    services: Services,
    job: Job,
    post: ThreadPost | MediaUpload | VoicemailUpload,
    *,
    reclaimed: bool,
) -> None:
    """A post in a caller's thread, strictly after the posts planned before it."""
    threads = services.threads
    place = post.place
    lead = place.lead
    start = await threads.start_post(place, job, SLACK_LEASE)
    release = release_timer(place)
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
            thread_ts, note = start.card_ts, None
            if thread_ts is None and not (isinstance(post, ThreadPost) and post.card):
                thread_ts, note = await _card_again(services, lead)
            if isinstance(post, MediaUpload):
                await media.upload(services, post, thread_ts)
            elif isinstance(post, VoicemailUpload):
                await voicemail.upload(services, post, thread_ts)
            else:
                if note is not None:
                    post = replace(post, text=f"{note}\n{post.text}")
                card = await _post(services, job, post, thread_ts)
        except (Retry, Held):
            # Let the retry (or the release of a hold) take the lease again. A held post keeps
            # its place: `started` tells the release timer of the posts behind it to wait.
            await services.markers.release_caller_job(lead.phone, job.id)
            raise
        except slack_api.Permanent as exc:
            outcome = "failed"
            await _failed_for_good(services, job, post, str(exc))
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


async def _card_again(services: Services, lead: LeadThread) -> tuple[str | None, str | None]:
    """A post whose lead card is not in Slack (it failed for good, or never came): the card is
    posted again first, as a card, and the post goes in its thread. Returns the thread's ts, or
    (None, a note saying why) when Slack refuses the card too: the post then goes to the
    channel, saying so, rather than quietly out of its thread. Runs in the post's turn, so no
    other post of the thread can do the same at once."""
    state = await services.leads.get(lead.phone, lead.lead_id)
    if not state.summary:  # the card never got as far as being rendered
        state = replace(state, summary=f":bust_in_silhouette: Lead from {caller_label(lead.phone)}")
    try:
        response = await slack_api.call(
            services,
            lead.channel,
            "chat_postMessage",
            channel=lead.channel,
            text=cards.fallback_text(state),
            blocks=cards.blocks(state),
            unfurl_links=False,
            unfurl_media=False,
        )
    except slack_api.Permanent as exc:
        log.error("lead card refused again lead=%s error=%s", lead.lead_id, exc)
        await services.records.note_error(f"Slack: {exc}")
        return None, given_up.card_missing(str(exc))
    posted = PostedCard(lead.channel, str(response["ts"]), state.version)
    await _recording(lambda: services.threads.record_card(lead, posted))
    log.warning("lead card posted again before its thread's next post lead=%s", lead.lead_id)
    return posted.ts, None


async def _failed_for_good(
    services: Services, job: Job, post: ThreadPost | MediaUpload | VoicemailUpload, error: str
) -> None:
    """Slack refused the post for good: the thread says what did not go out, and why."""
    log.error("slack post failed job=%s error=%s", job.id, error)
    await services.records.note_error(f"Slack: {error}")
    lead = post.place.lead
    if isinstance(post, ThreadPost) and post.card:
        # No card update will ever find it; the thread's next post tries it again, as a card.
        await services.leads.card_failed(lead.phone, lead.lead_id)
        return
    await _trace(services, job, post, f"Slack refused it: {error}")


async def gave_up(
    services: Services, job: Job, post: ThreadPost | MediaUpload | VoicemailUpload, why: str
) -> Job | None:
    """The worker gives up on a thread post after its last retry. A lead card is retried as a
    card (returned, to queue again from its first attempt: its thread waits for it in order);
    any other post gives up its place, so the thread goes on, and a notice carries it."""
    if isinstance(post, ThreadPost) and post.card:
        return replace(job, attempt=0, turn=None)
    following, _ = await _recording(
        lambda: services.threads.finish_post(post.place, job.id, "failed")
    )
    if following is not None:
        await services.outbox.enqueue([following])
    await _trace(services, job, post, why)
    return None


async def _trace(
    services: Services, job: Job, post: ThreadPost | MediaUpload | VoicemailUpload, why: str
) -> None:
    lead = post.place.lead
    if isinstance(post, MediaUpload):
        text = given_up.photo_not_placed(why)
    elif isinstance(post, VoicemailUpload):
        text = given_up.voicemail_not_placed(why)
    else:
        text = given_up.post_not_placed(post.text, why)
    notice = Notice(lead.channel, text, lead=lead)
    await services.outbox.enqueue([Job(f"gaveup:{job.id}", notice)])


def release_timer(place: Place) -> Job:
    """The Unpark job that frees a post parked at `place` if the one before it never comes.
    Its id names the lead, not the caller: job ids reach the logs."""
    lead = place.lead
    return Job(f"unpark:{lead.lead_id}:{place.seq}", Unpark(lead.phone, lead.line, place.seq))


async def _post(
    services: Services, job: Job, post: ThreadPost, card_ts: str | None
) -> PostedCard | None:
    """Posts; returns where it went and the lead version it shows when this was the card."""
    lead = post.place.lead
    text, blocks, rendered = post.text, post.blocks or None, 0
    if post.card:  # the lead card: Block Kit from the lead's state, the plain text as fallback
        state = await services.leads.set_summary(lead.phone, lead.lead_id, post.text)
        undo = services.settings.reply_undo_seconds
        text, blocks = cards.fallback_text(state), cards.blocks(state, undo)
        rendered = state.version
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
    except (Retry, Held):
        await markers.release(job.id)
        raise
    await markers.done(job.id)


async def post_ephemeral(services: Services, job: Job, message: Ephemeral) -> None:
    """A message only one person sees (an answer to their tap), at least once."""
    markers = services.markers
    previous = await markers.begin(job.id, lease_seconds=SLACK_LEASE)
    if previous == "running":
        raise Retry("another delivery holds the message", after=BUSY_RECHECK)
    if previous is not None:
        return
    try:
        await slack_api.call(
            services,
            None,  # chat.postEphemeral is Tier 4: outside the channel's posting pace
            "chat_postEphemeral",
            channel=message.channel,
            user=message.user,
            text=message.text,
        )
    except slack_api.Permanent as exc:
        log.error("slack ephemeral failed job=%s error=%s", job.id, exc)
    except Retry:
        await markers.release(job.id)
        raise
    await markers.done(job.id)


async def unpark(services: Services, job: Job, release: Unpark) -> None:
    waiting, wait_more = await services.threads.unpark(release.phone, release.line, release.seq)
    if wait_more:
        # The post before it has started: retrying, or held while Slack's wiring is broken.
        # It will come; skipping it would drop it. Look again later.
        await services.outbox.retry_later(job, services.clock() + PARK_TIMEOUT)
    elif waiting is not None:
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
