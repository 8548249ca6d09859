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
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from twilio.base.exceptions import TwilioRestException

from bot import cards, jobs, lead_flows, twilio_errors
from bot.jobs import Job, Lead
from bot.leads import LeadState
from bot.phone import masked
from bot.services import Services
from storage.store import JOB_DONE_TTL

log = logging.getLogger(__name__)

SLACK_LEASE = 60  # seconds a Slack post is "running" before another worker may take it over
PARK_TIMEOUT = 600  # a post waits this long for the one before it, then goes anyway
MAX_MEDIA_BYTES = 20 * 1024 * 1024


class Retry(Exception):
    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


async def perform(services: Services, job: Job) -> None:
    handler = _PERFORMERS.get(job.kind)
    if handler is None:
        raise ValueError(f"unknown job kind {job.kind!r}")
    await handler(services, job)


# --- SMS --------------------------------------------------------------------------------------


async def send_sms(services: Services, job: Job) -> None:
    d = job.data
    store = services.store
    if d["respect_opt_out"] and await store.is_opted_out(d["to"], d["line"]):
        # STOP arrived after this was queued: the opt-out wins.
        log.info("sms held: opted out job=%s to=%s", job.id, masked(d["to"]))
        await _report_failure(services, job, "the caller opted out (texted STOP)", "Not sent")
        return
    previous = await store.begin_job(job.id, lease_seconds=JOB_DONE_TTL)
    if previous is not None:
        # 'done': a redelivery. 'running': a worker died mid-send; we cannot know whether Twilio
        # got it, and a second text is worse than a missing one (at most once).
        log.warning("sms skipped job=%s marker=%s", job.id, previous)
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
            await store.release_job(job.id)
            raise Retry(f"twilio {exc.status} code={exc.code}") from exc
        await store.mark_job(job.id, "failed")
        services.metrics.send_failures.labels("twilio", "permanent").inc()
        if exc.code == twilio_errors.OPTED_OUT:
            await store.record_opt_out(d["to"], d["line"], services.clock())
        await _report_failure(services, job, twilio_errors.describe(exc.code))
        return
    except (aiohttp.ClientError, TimeoutError) as exc:
        # No answer from Twilio. A refused connection sent nothing; a timeout might have,
        # but is rare enough that retrying beats dropping the caller's text.
        await store.release_job(job.id)
        raise Retry(f"twilio unreachable: {type(exc).__name__}") from exc
    await store.mark_job(job.id, "done")
    await store.remember_sent_sms(
        message.sid, {k: d[k] for k in ("to", "line", "notify", "react_on", "purpose")}
    )
    services.metrics.sms_sent.labels(d["purpose"]).inc()
    if d["purpose"] == "crew reply":
        services.metrics.relayed.labels("to_caller").inc()
    log.info("sms sent sid=%s job=%s to=%s", message.sid, job.id, masked(d["to"]))
    if d.get("react_on"):
        where = d["react_on"]
        await services.outbox.enqueue(
            [jobs.react(f"react:{job.id}:ok", where["channel"], where["ts"], "white_check_mark")]
        )
    notify = d.get("notify") or {}
    if d["purpose"].startswith("auto-text") and notify.get("lead_id"):
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


async def post_ordered(services: Services, job: Job) -> None:
    """A post in a caller's thread, strictly after the posts planned before it."""
    d = job.data
    store = services.store
    turn = await store.slack_turn(d["phone"], d["line"], d["seq"], job)
    if turn == "done":
        return
    unpark = jobs.unpark(d["phone"], d["line"], d["seq"])
    if turn == "parked":
        await services.outbox.retry_later(unpark, services.clock() + PARK_TIMEOUT)
        return
    # Its turn came: a timer set while it was parked would linger as outbox depth for 10 min.
    await services.outbox.cancel_retry(unpark)
    if await _already_taken(services, job):
        return
    try:
        if job.kind == "slack.upload":
            await _upload(services, job)
        else:
            await _post(services, job)
    except Retry:
        await store.release_job(job.id)  # let the retry take the lease again
        raise
    except _Permanent as exc:
        log.error("slack post failed job=%s error=%s", job.id, exc)
        await store.mark_job(job.id, "failed")
        if d.get("card"):
            await lead_flows.lead_store(services).card_failed(d["phone"], d["lead_id"])
        await store.note_error(f"Slack: {exc}")
    else:
        await store.mark_job(job.id, "done")
    following = await store.slack_done(d["phone"], d["line"], d["seq"])
    if following is not None:
        await services.outbox.enqueue([following])


async def _already_taken(services: Services, job: Job) -> bool:
    previous = await services.store.begin_job(job.id, lease_seconds=SLACK_LEASE)
    if previous == "done" or previous == "failed":
        # Posted before a crash kept us from recording the turn: record it now.
        d = job.data
        following = await services.store.slack_done(d["phone"], d["line"], d["seq"])
        if following is not None:
            await services.outbox.enqueue([following])
        return True
    return previous is not None  # another worker holds the lease


async def _post(services: Services, job: Job) -> None:
    d = job.data
    thread_ts = None
    text, blocks = d["text"], None
    if not d["card"]:
        thread_ts = await services.store.card_ts(d["phone"], d["lead_id"])
    else:  # the lead card: Block Kit from the lead's state, the plain text as its fallback
        leads = lead_flows.lead_store(services)
        await leads.set_summary(d["phone"], d["lead_id"], d["text"])
        lead = await leads.get(d["phone"], d["lead_id"])
        text, blocks = cards.fallback_text(lead), cards.blocks(lead)
    response = await _slack_call(
        services,
        d["channel"],
        "chat_postMessage",
        channel=d["channel"],
        text=text,
        blocks=blocks,
        thread_ts=thread_ts,
        reply_broadcast=True if d.get("broadcast") else None,
        unfurl_links=False,
        unfurl_media=False,
    )
    if d["card"]:
        await services.store.save_card(
            d["phone"], d["line"], d["lead_id"], d["channel"], response["ts"]
        )
    if job.id.startswith("in:") and not job.id.endswith(":card"):
        services.metrics.relayed.labels("to_slack").inc()


async def _upload(services: Services, job: Job) -> None:
    """An MMS photo: fetched from Twilio (basic auth), uploaded into the thread."""
    d = job.data
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
    thread_ts = await services.store.card_ts(d["phone"], d["lead_id"])
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
    if previous is not None:
        return
    thread_ts = d.get("thread_ts")
    if not thread_ts and d.get("phone") and d.get("lead_id"):
        thread_ts = await services.store.card_ts(d["phone"], d["lead_id"])
    try:
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
    """Re-render a lead card from its state now, so retries and concurrent changes converge."""
    d = job.data
    leads = lead_flows.lead_store(services)
    lead: LeadState = await leads.get(d["phone"], d["lead_id"])
    if not lead.ts:
        if lead.card_failed:
            return
        raise Retry("lead card not posted yet", after=1.0)
    try:
        await _slack_call(
            services,
            f"update:{lead.channel}",
            "chat_update",
            channel=lead.channel,
            ts=lead.ts,
            text=cards.fallback_text(lead),
            blocks=cards.blocks(lead),
            rate=services.settings.slack_updates_per_second,
        )
    except _Permanent as exc:
        log.error("card update failed job=%s error=%s", job.id, exc)
        await services.store.note_error(f"Slack: {exc}")
        return
    if await leads.version(d["phone"], d["lead_id"]) != lead.version:
        # Changed while we rendered: another update is queued, but ours may land after it.
        version = await leads.version(d["phone"], d["lead_id"])
        await services.outbox.enqueue([lead_flows.update_card(d["phone"], d["lead_id"], version)])


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


class _Permanent(Exception):
    """Slack said no in a way a retry won't change (channel_not_found, not_in_channel, ...)."""


async def _slack_call(
    services: Services,
    pace_channel: str | None,
    method: str,
    rate: float | None = None,
    **kwargs: Any,
) -> Any:
    if pace_channel is not None:
        wait = await services.store.pace(
            pace_channel, services.clock(), rate or services.settings.slack_posts_per_second
        )
        if wait > 0:
            await asyncio.sleep(wait)  # pacing to Slack's per-channel rate, not synchronisation
    try:
        return await getattr(services.slack, method)(**kwargs)
    except SlackApiError as exc:
        status = exc.response.status_code
        if status == 429 or status >= 500:
            retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get(
                "retry-after"
            )
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


_PERFORMERS = {
    "sms.send": send_sms,
    "slack.post": post_ordered,
    "slack.upload": post_ordered,
    "slack.notice": post_notice,
    "slack.react": react,
    "slack.update": update_card,
    "slack.unpark": unpark,
}
