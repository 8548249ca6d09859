"""What each job kind does against Twilio and Slack.

A performer either finishes (success, or a permanent failure it has reported) or raises Retry.
Delivery semantics: an SMS is sent at most once (its marker is written before the send and never
expires, so a worker killed mid-send leaves a marker and the redelivery sends nothing); a Slack
post is at least once (its marker is written after the post, so a kill in between may repost).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

import aiohttp
from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError
from twilio.base.exceptions import TwilioRestException

from bot.domain import cards, jobs, slack_text, twilio_errors
from bot.domain.jobs import Job, Lead
from bot.domain.leads import LeadState
from bot.domain.phone import masked
from bot.flows import leads as lead_flows
from bot.services import Services
from storage.store import PostedCard

log = logging.getLogger(__name__)
T = TypeVar("T")

SLACK_LEASE = 60  # seconds a Slack post is "running" before another worker may take it over
BUSY_RECHECK = 2.0  # seconds before a post held by another delivery is looked at again
RECORD_PATIENCE = 60  # seconds a finished post waits for Redis to record it
PARK_TIMEOUT = 600  # a post waits this long for the one before it, then goes anyway
MAX_MEDIA_BYTES = 20 * 1024 * 1024
TURN_WAIT_IN_SLOT = 1.0  # seconds a job may wait for its turn holding a worker slot
TURN_EARLY = 0.5  # a deferred job comes back this long before its turn, and waits the rest
CREW_UPDATE_SHARE = 0.4  # of SLACK_UPDATES_PER_SECOND, kept for card updates the crew caused
TEMPLATE_VERSION = "default"  # the environment's text (templates set in Slack carry "v<n>")
# Told in the thread when a dead worker's text may or may not have reached the caller.
UNCERTAIN = (
    "a worker stopped while sending it, so it may not have reached the caller; check with them"
    " before sending it again"
)


class Retry(Exception):
    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


class Deferred(Retry):
    """Not a failure: the job's turn in a pacing schedule comes at `turn_at`, and it holds that
    turn. The worker puts it back on the retry schedule, using no attempt, to come back
    `after` seconds from now: TURN_EARLY before its turn, since the retry schedule is looked
    at every 0.2 s and a post that arrived late would crowd the next one into a 429."""

    def __init__(self, turn_at: float, now: float) -> None:
        super().__init__("waiting for its turn", after=max(0.0, turn_at - now - TURN_EARLY))
        self.turn_at = turn_at

    def holding(self, job: Job) -> Job:
        """The job as it comes back: it holds its turn until its next attempt."""
        held = {"slot_for_attempt": job.attempt, "turn_at": self.turn_at}
        return replace(job, data={**job.data, **held})


async def perform(services: Services, job: Job, *, reclaimed: bool = False) -> None:
    """reclaimed: the job was taken over from a worker presumed dead (it held it too long)."""
    handler = _PERFORMERS.get(job.kind)
    if handler is None:
        raise ValueError(f"unknown job kind {job.kind!r}")
    if reclaimed and job.kind in _LEASED_POSTS:
        # Its worker died holding the post's lease: waiting the lease out would hold the whole
        # thread (and the posts parked behind it) for a minute. A Slack post is at least once,
        # so run it now; it may repeat a post the dead worker made but never recorded.
        # An SMS gets no such takeover: its marker keeps it at most once.
        phone = job.data.get("phone") if job.kind != "slack.notice" else None
        if await services.store.take_over(phone, job.id):
            log.warning("took over a dead worker's lease job=%s", job.id)
    aware = _RECLAIM_AWARE.get(job.kind)
    if aware is not None:
        await aware(services, job, reclaimed=reclaimed)
    else:
        await handler(services, job)


# --- SMS --------------------------------------------------------------------------------------


async def send_sms(services: Services, job: Job, *, reclaimed: bool = False) -> None:
    follow = jobs.then_of(job)  # a new lead's card, waiting to show how its auto-text went
    try:
        await _send_sms(services, job, reclaimed=reclaimed)
    except Retry:
        if follow is not None and job.attempt == 0:
            await _hand_on(services, follow)  # the text is held up: the card waits no longer
        raise
    if follow is not None:
        await _hand_on(services, follow)


async def _hand_on(services: Services, follow: Job) -> None:
    pipe = services.redis.pipeline(transaction=False)
    services.outbox.add_instead_of_later(pipe, follow)
    await pipe.execute()


async def _send_sms(services: Services, job: Job, *, reclaimed: bool) -> None:
    d = job.data
    store = services.store
    start = await store.start_sms(d["to"], d["line"], job.id, d["respect_opt_out"])
    if start == "opted_out":
        # STOP arrived after this was queued: the opt-out wins.
        log.info("sms held: opted out job=%s to=%s", job.id, masked(d["to"]))
        await _report_failure(services, job, "the caller opted out (texted STOP)", "Not sent")
        return
    if start != "go":
        # 'done': a redelivery. 'running': a worker died mid-send; we cannot know whether Twilio
        # got it, and a second text is worse than a missing one (at most once).
        log.warning("sms skipped job=%s marker=%s", job.id, start)
        if start == "running" and reclaimed:
            # Not silently: the crew can check with the caller rather than never know.
            await _report_failure(services, job, UNCERTAIN, "Text may not have gone out")
        return
    try:
        message = await services.twilio.messages.create_async(
            to=d["to"],
            from_=d["from"],
            body=d["body"],
            status_callback=f"{services.settings.public_url}/twilio/sms/status",
        )
    except TwilioRestException as exc:
        if twilio_errors.is_retryable(exc.status, exc.code):
            await store.release_caller_job(d["to"], job.id)
            raise Retry(f"twilio {exc.status} code={exc.code}") from exc
        await store.finish_sms(d["to"], job.id, "failed")
        services.metrics.send_failures.labels("twilio", "permanent").inc()
        if exc.code == twilio_errors.OPTED_OUT:
            await store.record_opt_out(
                d["to"],
                d["line"],
                services.clock(),
                source="carrier",
                message=f"Twilio error 21610 sending the {d['purpose']}",
            )
        await _report_failure(services, job, twilio_errors.describe(exc.code))
        return
    except (aiohttp.ClientError, TimeoutError) as exc:
        # No answer from Twilio. A refused connection sent nothing; a timeout might have,
        # but is rare enough that retrying beats dropping the caller's text.
        await store.release_caller_job(d["to"], job.id)
        raise Retry(f"twilio unreachable: {type(exc).__name__}") from exc
    context = {k: d[k] for k in ("to", "line", "notify", "react_on", "purpose")}
    services.metrics.sms_sent.labels(d["purpose"]).inc()
    if d["purpose"] == "crew reply":
        services.metrics.relayed.labels("to_caller").inc()
    log.info("sms sent sid=%s job=%s to=%s", message.sid, job.id, masked(d["to"]))
    # What the send leaves behind, in one round trip: the marker, the ledger, the reaction.
    pipe = services.redis.pipeline(transaction=False)
    await store.finish_sms(d["to"], job.id, "done", sent=(message.sid, context), pipe=pipe)
    if d.get("template"):
        store.ledger.add(
            pipe,
            d["to"],
            "text_sent",
            services.clock(),
            line=d["line"],
            template=d["template"],
            version=d.get("template_version", TEMPLATE_VERSION),
            message_sid=message.sid,
            purpose=d["purpose"],
        )
    if d.get("react_on"):
        where = d["react_on"]
        services.outbox.add(
            pipe,
            [jobs.react(f"react:{job.id}:ok", where["channel"], where["ts"], "white_check_mark")],
        )
    notify = d.get("notify") or {}
    lead_texted = d["purpose"].startswith("auto-text") and notify.get("lead_id")
    if lead_texted:
        lead_flows.count_texted(services, pipe)
    await pipe.execute()
    if lead_texted:
        await lead_flows.auto_texted(services, notify["phone"], notify["lead_id"])


async def _report_failure(
    services: Services, job: Job, reason: str, headline: str = "Text not sent"
) -> None:
    d = job.data
    notify = d["notify"]
    follow_up: list[Job] = []
    if d.get("react_on"):
        where = d["react_on"]
        follow_up.append(
            jobs.react(f"react:{job.id}:warn", where["channel"], where["ts"], "warning")
        )
    text = f":warning: {headline} ({d['purpose']}): {reason}."
    follow_up.append(await lead_notice(services, f"failed:{job.id}", notify, d["line"], text))
    await services.outbox.enqueue(follow_up)


async def lead_notice(
    services: Services, job_id: str, notify: dict[str, str], line: str, text: str
) -> Job:
    """A notice where `notify` says: a given thread, or a lead's thread, or the channel.

    A lead's thread is an ordered post after everything planned before it: a failed auto-text is
    known in milliseconds, while the card it belongs under may still be on its way to Slack."""
    phone, lead_id = notify.get("phone"), notify.get("lead_id")
    if notify.get("thread_ts") or not (phone and lead_id):
        return jobs.post_notice(
            job_id,
            notify["channel"],
            text,
            thread_ts=notify.get("thread_ts"),
            phone=phone,
            lead_id=lead_id,
        )
    lead = Lead(
        phone=phone, line=line, lead_id=lead_id, seq=await services.store.next_seq(phone, line)
    )
    return jobs.post_in_thread(job_id, lead, notify["channel"], text)


# --- Slack ------------------------------------------------------------------------------------


async def post_ordered(services: Services, job: Job, *, reclaimed: bool = False) -> None:
    """A post in a caller's thread, strictly after the posts planned before it."""
    d = job.data
    store = services.store
    phone, line, lead_id, seq = d["phone"], d["line"], d["lead_id"], d["seq"]
    start = await store.start_post(phone, line, lead_id, seq, job, SLACK_LEASE)
    unpark = jobs.unpark(phone, line, seq)
    if start.state == "parked":
        await services.outbox.retry_later(unpark, services.clock() + PARK_TIMEOUT)
        if not await store.is_parked(phone, line, seq):
            # Its turn came between parking and setting the timer (the timer is in the outbox's
            # slot, not the caller's, so not in the same script): the delivery that took it may
            # have cancelled the timer before it existed. Cancel it here; else it lingers as
            # outbox depth for PARK_TIMEOUT.
            await services.outbox.cancel_retry(unpark)
        return
    if start.was_parked or reclaimed:
        # Its turn came: the release timer set while it waited would linger as outbox depth.
        # (A reclaimed delivery cannot know whether its dead worker got to cancel it.)
        await services.outbox.cancel_retry(unpark)
    if start.state == "done" and reclaimed:
        # Its worker recorded the post and died before handing on the one parked behind it,
        # which would wait out PARK_TIMEOUT: hand it on (a second copy is deduped by its start).
        following = await store.parked_after(phone, line, seq)
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
            if job.kind == "slack.upload":
                await _upload(services, job, start.card_ts)
            else:
                card = await _post(services, job, start.card_ts)
        except Retry:
            await store.release_caller_job(phone, job.id)  # let the retry take the lease again
            raise
        except _Permanent as exc:
            log.error("slack post failed job=%s error=%s", job.id, exc)
            outcome = "failed"
            await store.note_error(f"Slack: {exc}")
            if d.get("card"):  # no card update will ever find it: stop them waiting
                await lead_flows.lead_store(services).card_failed(phone, lead_id)
    # 'finished': posted before a crash kept us from recording the turn; record it now.
    following, stale = await _recording(
        lambda: store.finish_post(phone, line, lead_id, seq, job.id, outcome, card)
    )
    if following is not None:
        await services.outbox.enqueue([following])
    if stale:
        # Changed while the card was on its way (changes before the card queue no update).
        await lead_flows.queue_update(services, phone, lead_id)


async def _post(services: Services, job: Job, card_ts: str | None) -> PostedCard | None:
    """Posts; returns where it went and the lead version it shows when this was the card."""
    d = job.data
    await _take_turn(services, job, d["channel"], services.settings.slack_posts_per_second)
    text, blocks, rendered = d["text"], d.get("blocks") or None, 0
    if d["card"]:  # the lead card: Block Kit from the lead's state, the plain text as fallback
        leads = lead_flows.lead_store(services)
        lead = await leads.set_summary(d["phone"], d["lead_id"], d["text"])
        text, blocks, rendered = cards.fallback_text(lead), cards.blocks(lead), lead.version
    response = await _slack_call(
        services,
        d["channel"],
        "chat_postMessage",
        channel=d["channel"],
        text=text,
        blocks=blocks,
        thread_ts=None if d["card"] else card_ts,
        reply_broadcast=True if d.get("broadcast") else None,
        unfurl_links=False,
        unfurl_media=False,
    )
    if job.id.startswith("in:") and not job.id.endswith(":card"):
        services.metrics.relayed.labels("to_slack").inc()
    return PostedCard(d["channel"], str(response["ts"]), rendered) if d["card"] else None


async def _upload(services: Services, job: Job, thread_ts: str | None) -> None:
    """An MMS photo: fetched from Twilio (basic auth), uploaded into the thread."""
    d = job.data
    await _take_turn(services, job, d["channel"], services.settings.slack_posts_per_second)
    settings = services.settings
    # A plain header: aiohttp 3.14 deprecates BasicAuth; it still drops it on cross-host redirects.
    credentials = f"{settings.twilio_account_sid}:{settings.twilio_auth_token.get_secret_value()}"
    auth = {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}
    try:
        async with services.http.get(
            d["url"], headers=auth, timeout=aiohttp.ClientTimeout(total=30)
        ) as resp:
            if resp.status >= 500 or resp.status == 429:
                raise Retry(f"media fetch {resp.status}")
            if resp.status != 200:
                raise _Permanent(f"media fetch answered {resp.status}")
            content = await resp.content.read(MAX_MEDIA_BYTES + 1)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise Retry(f"media fetch failed: {type(exc).__name__}") from exc
    if len(content) > MAX_MEDIA_BYTES:
        raise _Permanent("media larger than 20 MB")
    extension = d["content_type"].split("/")[-1].split(";")[0] or "bin"
    await _slack_call(
        services,
        d["channel"],
        "files_upload_v2",
        channel=d["channel"],
        thread_ts=thread_ts,
        content=content,
        filename=f"from-caller.{extension}",
        title="Photo from the caller",
    )


async def post_notice(services: Services, job: Job) -> None:
    d = job.data
    previous = await services.store.begin_job(job.id, lease_seconds=SLACK_LEASE)
    if previous == "running":
        # As for a thread post: its holder may have died mid-post; look again until it is done.
        raise Retry("another delivery holds the notice", after=BUSY_RECHECK)
    if previous is not None:
        return
    thread_ts = d.get("thread_ts")
    if not thread_ts and d.get("phone") and d.get("lead_id"):
        thread_ts = await services.store.card_ts(d["phone"], d["lead_id"])
    try:
        await _take_turn(services, job, d["channel"], services.settings.slack_posts_per_second)
        await _slack_call(
            services,
            d["channel"],
            "chat_postMessage",
            channel=d["channel"],
            text=d["text"],
            blocks=d.get("blocks"),
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
        )
    except _Permanent as exc:
        log.error("slack notice failed job=%s error=%s", job.id, exc)
        await services.store.note_error(f"Slack: {exc}")
    except Retry:
        await services.store.release_job(job.id)
        raise
    await services.store.mark_job(job.id, "done")


async def update_card(services: Services, job: Job) -> None:
    """Re-render a lead card from its state now, so retries and concurrent changes converge.

    Updates never hold a worker while chat.update's budget (Tier 3) is spent: an update takes
    its place in the schedule and waits for it on the retry schedule, so thread posts are not
    starved behind them and a backlog of updates doesn't ask for a place again and again.
    The crew's changes have a lane of their own (CREW_UPDATE_SHARE of the budget): a claim
    shows in seconds even behind a burst of callers' replies, each of which updates a card."""
    d = job.data
    phone, lead_id, crew = d["phone"], d["lead_id"], bool(d.get("crew"))
    leads = lead_flows.lead_store(services)
    lead: LeadState = await leads.get(phone, lead_id)
    if not lead.ts:
        if lead.card_failed:
            await leads.update_taken(phone, lead_id, crew)
            return
        raise Retry("lead card not posted yet", after=1.0)
    if lead.version <= lead.rendered:
        # Most often the card was posted after the change and shows it: no need to wait for
        # chat.update's budget to find that out.
        await leads.update_taken(phone, lead_id, crew)
        if not await leads.stale(phone, lead_id):
            return
    pace = f"update:{lead.channel}" + (":crew" if crew else "")
    share = CREW_UPDATE_SHARE if crew else 1 - CREW_UPDATE_SHARE
    await _take_turn(services, job, pace, services.settings.slack_updates_per_second * share)
    await leads.update_taken(phone, lead_id, crew)  # from here, a change queues a new update
    lead = await leads.get(phone, lead_id)
    if lead.version <= lead.rendered:
        return  # the card already shows this (it was posted or updated after the change)
    try:
        await _slack_call(
            services,
            pace,
            "chat_update",
            channel=lead.channel,
            ts=lead.ts,
            text=cards.fallback_text(lead),
            blocks=cards.blocks(lead),
        )
    except _Permanent as exc:
        log.error("card update failed job=%s error=%s", job.id, exc)
        await services.store.note_error(f"Slack: {exc}")
        return
    await leads.rendered(phone, lead_id, lead.version)
    if await leads.version(phone, lead_id) != lead.version:
        # Changed while we rendered: its update may have found us busy; make sure one follows.
        await lead_flows.queue_update(services, phone, lead_id, crew=crew)


async def react(services: Services, job: Job) -> None:
    d = job.data
    try:
        await _slack_call(
            services, None, "reactions_add", channel=d["channel"], timestamp=d["ts"], name=d["name"]
        )
    except _Permanent as exc:
        if "already_reacted" not in str(exc):
            log.error("slack reaction failed job=%s error=%s", job.id, exc)


async def unpark(services: Services, job: Job) -> None:
    d = job.data
    waiting = await services.store.slack_unpark(d["phone"], d["line"], d["seq"])
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


class _Permanent(Exception):
    """Slack said no in a way a retry won't change (channel_not_found, not_in_channel, ...)."""


async def _take_turn(services: Services, job: Job, schedule: str, per_second: float) -> None:
    """Waits for the job's turn in a pacing schedule shared by every worker (a channel's posts,
    its card updates). A turn more than TURN_WAIT_IN_SLOT away is waited for on the retry
    schedule (Deferred), not in a worker slot: a burst to one channel would otherwise fill
    every slot with posts asleep for their turn, and other channels' posts wait behind them."""
    now = services.clock()
    if job.data.get("slot_for_attempt") == job.attempt:
        # Back for the turn it holds (a retry after a failure asks again). Turns taken before
        # turn_at was recorded (an older release) go at once.
        wait = float(job.data.get("turn_at", now)) - now
    else:
        wait = await services.store.pace(schedule, now, per_second)
        if wait > TURN_WAIT_IN_SLOT:
            raise Deferred(turn_at=now + wait, now=now)
    if wait > 0:
        await asyncio.sleep(wait)  # pacing to Slack's rate, not synchronisation


async def _slack_call(
    services: Services,
    pace_channel: str | None,
    method: str,
    **kwargs: Any,
) -> Any:
    """pace_channel: the schedule the caller took its turn in (_take_turn), held after a 429."""
    if pace_channel is not None:
        held = services.store.held(pace_channel, services.clock())
        if held > 0:
            # A 429 came while we waited for our slot: posting now would only draw another.
            raise Retry("slack channel held after a 429", after=held)
    if isinstance(kwargs.get("text"), str):
        kwargs["text"] = slack_text.fit(kwargs["text"], slack_text.MAX_MESSAGE_TEXT)
    try:
        return await getattr(services.slack, method)(**kwargs)
    except SlackApiError as exc:
        status = exc.response.status_code
        if status == 429 or status >= 500:
            retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get(
                "retry-after"
            )
            if status == 429 and pace_channel is not None and retry_after:
                # Hold every worker's posts to this channel, not just this one job's retry.
                seconds = float(retry_after)
                await services.store.hold_pace(pace_channel, services.clock() + seconds, seconds)
            raise Retry(
                f"slack {status}", after=float(retry_after) if retry_after else None
            ) from exc
        error = exc.response.get("error") if hasattr(exc.response, "get") else None
        if error in (
            "ratelimited",
            "internal_error",
            "fatal_error",
            "service_unavailable",
            "request_timeout",
        ):
            raise Retry(f"slack {error}") from exc
        services.metrics.send_failures.labels("slack", "permanent").inc()
        raise _Permanent(str(error or status)) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise Retry(f"slack unreachable: {type(exc).__name__}") from exc


_LEASED_POSTS = frozenset({"slack.post", "slack.upload", "slack.notice"})
# Performers that act differently on a job taken over from a dead worker.
_RECLAIM_AWARE = {"sms.send": send_sms, "slack.post": post_ordered, "slack.upload": post_ordered}

_PERFORMERS = {
    "sms.send": send_sms,
    "slack.post": post_ordered,
    "slack.upload": post_ordered,
    "slack.notice": post_notice,
    "slack.react": react,
    "slack.update": update_card,
    "slack.unpark": unpark,
}
