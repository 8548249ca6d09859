"""Telling webhook receivers, on a queue of their own: a slow or dead receiver holds up no text
and no Slack post.

An event (WebhookEvent) is rendered once, when it runs: the lead read as it is then, with a
version that grows with every reading (storage/leads.py's snapshot), the Slack names and the
thread's link added. That one body goes to each URL, signed afresh on each attempt (Standard
Webhooks v1: the same webhook-id, a new webhook-timestamp). The first attempt is made by the
event's own job; a URL that needs another goes on as a job of its own (WebhookDelivery). A 2xx
ends a delivery; a 410 disables the URL; anything else is tried again on the specification's
schedule, no sooner than a 429's or 503's Retry-After, and after the last attempt the delivery
is kept as failed for `/textback webhook retry`.

At least once: a job is acknowledged only once it is delivered, scheduled again, or kept as
failed; a worker that dies mid-request leaves it to be reclaimed and sent again (same id: the
receiver dedupes). Redirects are not followed.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.domain import webhooks
from bot.domain.jobs import Job, Notice, WebhookDelivery, WebhookEvent
from bot.flows.webhooks import CARD_WAIT_SECONDS, card_posted, wait_for_card
from bot.outbox.errors import Retry
from bot.services import Services

log = logging.getLogger(__name__)

SLACK_TIMEOUT = 5.0  # users.info / auth.test for a body: without an answer, the body goes without
USER_AGENT = "textback-webhooks/1"
ANSWER_SNIPPET = 200  # bytes of a receiver's error answer kept as its last error


async def fan_out(
    services: Services, job: Job, event: WebhookEvent, *, reclaimed: bool = False
) -> None:
    """Render the event once and make each URL's first attempt from here (a URL that fails
    goes on as a WebhookDelivery job, on the retry schedule): the common case costs one job and
    one round trip before the requests."""
    urls = [event.only] if event.only else list(services.lines.webhook_urls(event.line))
    if not urls:
        return
    store = services.webhooks
    facts = event.facts or {}
    # Once per event, whoever runs it again (its timer and the card's release both); a
    # takeover sends it all the same: its worker may have died before any answer came.
    record = None
    if event.phone and event.lead_id:
        young = services.clock() - event.at < CARD_WAIT_SECONDS
        start, record = await store.start_lead_event(
            event.phone,
            event.lead_id,
            job.id,
            again=reclaimed,
            may_wait=young and not event.waited,
        )
        if start == "wait":
            await _wait_for_card(services, job, event)
            return
        if start == "dup":
            return
    elif not await store.start_event(job.id, again=reclaimed):
        return
    ids = list(webhooks.people_in(facts))
    if record is not None:
        ids += [record.state.claimer, record.first_answer_by]
    names = await slack_names(services, ids)
    lead = None
    if record is not None:
        # A line since removed from LINES_FILE keeps its id; its name is the stand-in's.
        line = services.lines.known(event.line)
        lead = webhooks.lead_data(
            record,
            line_id=event.line,
            line_name=line.business_name,
            names=names,
            workspace_url=await workspace_url(services) if record.state.ts else None,
        )
    body = webhooks.body(event.type, event.at, webhooks.event_data(lead, facts, names))
    disabled = await store.disabled(urls)
    await asyncio.gather(
        *(_first_attempt(services, event, url, body, url in disabled) for url in urls)
    )


async def _first_attempt(
    services: Services, event: WebhookEvent, url: str, body: str, disabled: bool
) -> None:
    delivery = WebhookDelivery(event_id=event.id, url=url, body=body, line=event.line)
    job = Job(f"webhook:{event.id}:{webhooks.url_key(url)}", delivery)
    if disabled:
        await services.webhooks.keep_failed(url, job, services.clock())
        return
    try:
        await _attempt(services, job, delivery)
    except Retry as exc:
        # From here the URL's delivery is a job of its own, with its own retries.
        log.warning("webhook retry job=%s in %.1fs reason=%s", job.id, exc.after or 0, exc)
        await services.outbox.retry_later(job.retried(), services.clock() + (exc.after or 0))


async def _wait_for_card(services: Services, job: Job, event: WebhookEvent) -> None:
    """The lead card is on its way: the event waits for it, so it carries the thread's link,
    and goes anyway when its timer comes (flows park a new lead's events at once; this is for
    the others that find the card not posted yet)."""
    assert event.phone is not None and event.lead_id is not None
    pipe = services.redis.pipeline(transaction=False)
    wait_for_card(services, pipe, job, event)
    await pipe.execute()
    # The card may have been posted between the reading and the parking: then nobody else
    # would release it before its timer.
    state = await services.leads.get(event.phone, event.lead_id)
    if state.ts or state.card_failed:
        await card_posted(services, event.phone, event.line, event.lead_id)


async def slack_names(services: Services, user_ids: list[str]) -> dict[str, str]:
    """Slack display names: cached for a day, else asked of users.info (from this worker,
    never from a webhook handler); a name Slack doesn't give goes out as null."""
    wanted = sorted({u for u in user_ids if u})
    names = await services.webhooks.user_names(wanted)
    for user_id in wanted:
        if user_id in names:
            continue
        try:
            answer = await asyncio.wait_for(services.slack.users_info(user=user_id), SLACK_TIMEOUT)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("users.info for a webhook failed user=%s error=%s", user_id, exc)
            continue
        user = answer.get("user") or {}
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("name")
        if name:
            names[user_id] = str(name)
            await services.webhooks.remember_user_name(user_id, str(name))
    return names


async def workspace_url(services: Services) -> str | None:
    """The workspace's URL (auth.test), cached: card links are built from it, rather than one
    chat.getPermalink per lead (its limit is far below a burst of calls)."""
    url = await services.webhooks.workspace_url()
    if url:
        return url
    try:
        answer = await asyncio.wait_for(services.slack.auth_test(), SLACK_TIMEOUT)
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("auth.test for a webhook failed error=%s", exc)
        return None
    url = str(answer.get("url") or "")
    if url:
        await services.webhooks.remember_workspace_url(url)
    return url or None


# --- one event to one URL ------------------------------------------------------------------------


async def deliver(services: Services, job: Job, delivery: WebhookDelivery) -> None:
    """A retry (or `/textback webhook retry`) of one event to one URL."""
    store = services.webhooks
    url = delivery.url
    delivered, disabled = await store.before_delivery(url, job.id)
    if delivered:
        return  # a second copy of a delivered job (its worker died before acknowledging)
    if disabled:
        await store.keep_failed(url, job, services.clock())  # sent by a retry once enabled
        return
    await _attempt(services, job, delivery)


async def _attempt(services: Services, job: Job, delivery: WebhookDelivery) -> None:
    """One signed POST; raises Retry when it should be tried again later."""
    store = services.webhooks
    url = delivery.url
    key = services.settings.webhook_key
    if key is None:  # settings refuse URLs without a secret; a URL kept from before, perhaps
        log.error("webhook not sent: WEBHOOK_SECRET is not set url=%s", webhooks.shown_url(url))
        await store.keep_failed(url, job, services.clock())
        return
    now = services.clock()
    headers = webhooks.headers(key, delivery.event_id, int(now), delivery.body)
    headers["User-Agent"] = USER_AGENT
    timeout = services.settings.webhook_timeout_seconds
    try:
        async with services.webhook_http.post(
            url,
            data=delivery.body.encode(),
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            status = response.status
            after = None
            if status in (429, 503):
                after = webhooks.retry_after(response.headers.get("Retry-After"), now)
            answer = b""
            if webhooks.verdict(status) != "delivered":
                answer = await response.content.read(ANSWER_SNIPPET)
    except TimeoutError:
        await _failed(services, job, delivery, f"no answer within {timeout:g} s", None)
        return
    except aiohttp.ClientError as exc:
        await _failed(services, job, delivery, f"unreachable ({type(exc).__name__})", None)
        return
    match webhooks.verdict(status):
        case "delivered":
            services.metrics.webhook_deliveries.labels("delivered").inc()
            await store.delivered(url, job.id, services.clock())
            log.info(
                "webhook delivered id=%s url=%s attempt=%d",
                delivery.event_id,
                webhooks.shown_url(url),
                job.attempt + 1,
            )
        case "gone":
            await _gone(services, job, delivery)
        case _:
            said = answer.decode("utf-8", "replace").strip()
            error = f"HTTP {status}" + (f": {said}" if said else "")
            await _failed(services, job, delivery, error, after)


async def _failed(
    services: Services, job: Job, delivery: WebhookDelivery, error: str, after: float | None
) -> None:
    store = services.webhooks
    now = services.clock()
    shown = webhooks.shown_url(delivery.url)
    await store.attempt_failed(delivery.url, now, error)
    if job.attempt + 1 >= webhooks.ATTEMPTS:
        log.error("webhook given up id=%s url=%s error=%s", delivery.event_id, shown, error)
        await _keep_given_up(services, job, delivery)
        return
    services.metrics.webhook_deliveries.labels("retry").inc()
    raise Retry(f"webhook {shown}: {error}", after=webhooks.retry_delay(job.attempt, after))


async def given_up(services: Services, job: Job, delivery: WebhookDelivery) -> None:
    """The worker gave up on a delivery that kept failing on our side (an error of ours, not
    the receiver's answer): kept as failed all the same, for `/textback webhook retry`."""
    now = services.clock()
    await services.webhooks.attempt_failed(delivery.url, now, "not sent: an error of ours")
    await _keep_given_up(services, job, delivery)


async def _keep_given_up(services: Services, job: Job, delivery: WebhookDelivery) -> None:
    """Out of attempts: kept as failed (not buried: `/textback webhook` shows it, and retry
    sends it), and counted once, with /metrics' given-up jobs of every kind."""
    services.metrics.webhook_deliveries.labels("failed").inc()
    await services.webhooks.keep_failed(delivery.url, job, services.clock())
    await services.outbox.count_given_up(job.kind)


async def _gone(services: Services, job: Job, delivery: WebhookDelivery) -> None:
    """410 Gone: the receiver says the endpoint is no more. The URL is disabled (its events
    are kept, for a retry once it is enabled again) and each line that uses it is told."""
    store = services.webhooks
    now = services.clock()
    services.metrics.webhook_deliveries.labels("gone").inc()
    newly = await store.disable(delivery.url, now, "HTTP 410 Gone")
    await store.keep_failed(delivery.url, job, now)
    if not newly:
        return
    shown = webhooks.shown_url(delivery.url)
    log.warning("webhook disabled by 410 url=%s", shown)
    configured = services.lines.webhook_endpoints()
    number = str(configured.index(delivery.url) + 1) if delivery.url in configured else shown
    text = (
        f":warning: Webhook {number} ({shown}) answered *410 Gone*, so no more events go to it. "
        f"`/textback webhook enable {number}` turns it back on; `/textback webhook retry` "
        "then sends what it missed."
    )
    name = webhooks.url_key(delivery.url)
    notices = [
        Job(f"webhook-gone:{name}:{int(now)}:{line.id}", Notice(line.channel_id, text))
        for line in services.lines.using_webhook(delivery.url)
    ]
    await services.outbox.enqueue(notices)
