"""Outbound webhooks, the flows' side: an event happened (a job for the outbox's webhooks
queue, queued with whatever else the flow queues), a lead card reached Slack (the lead's
events waiting for it go on), and what `/textback webhook` does.

Nothing here talks to a receiver: bot/outbox/webhooks.py does, from the queue. A line with no
webhook URLs (bot/lines.py decides) costs nothing: no job is made.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from redis.asyncio.client import Pipeline

from bot.domain import webhooks
from bot.domain.jobs import Job, WebhookEvent
from bot.domain.line import DEFAULT_LINE, Line
from bot.domain.webhooks import Endpoint, EventType
from bot.services import Services

log = logging.getLogger(__name__)

# A lead's event waits at most this long for the lead card, so it can carry the thread's link
# (a new lead's card waits for its auto-text's outcome, CARD_WAITS_FOR_TEXT_SECONDS).
CARD_WAIT_SECONDS = 20.0


def event(
    services: Services,
    event_type: EventType,
    *,
    line: str,
    cause: str,
    phone: str | None = None,
    lead_id: str | None = None,
    at: float | None = None,
    **facts: Any,
) -> Job | None:
    """The job that tells the line's receivers, or None when the line has none. cause: what
    made it (a CallSid, a MessageSid, a Slack ts...), so a redelivery names the same event.
    facts: the event's own, plain JSON values; caller text goes in as it is (json.dumps
    serialises it)."""
    if not services.lines.webhook_urls(line):
        return None
    event_id = webhooks.event_id(f"{event_type}:{cause}")
    payload = WebhookEvent(
        id=event_id,
        type=event_type,
        at=services.clock() if at is None else at,
        line=line,
        phone=phone,
        lead_id=lead_id,
        facts=facts or None,
    )
    return Job(f"webhook:{event_id}", payload)


def some(*jobs: Job | None) -> list[Job]:
    return [job for job in jobs if job is not None]


def media_links(services: Services, media: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    """A caller's photos as links a receiver can open: ours, signed, for MEDIA_LINK_DAYS
    (Twilio's own need the account's credentials)."""
    key = services.settings.webhook_key
    if key is None:
        return []
    expires = int(services.clock() + webhooks.MEDIA_LINK_DAYS * 86_400)
    base = services.settings.public_url
    return [
        {
            "url": f"{base}/media/{webhooks.media_token(key, url, expires)}",
            "content_type": content_type,
        }
        for url, content_type in media
    ]


def add(services: Services, pipe: Pipeline, jobs: list[Job], *, card_on_its_way: bool) -> None:
    """Queue events on the caller's pipeline. card_on_its_way: the lead's card is planned but
    not posted (a new lead), so they wait for it at once, parked on the lead with a timer,
    rather than run, find no card and park themselves (a stream read and four round trips
    more per event)."""
    for job in jobs:
        event = job.payload
        if card_on_its_way and isinstance(event, WebhookEvent) and event.phone and event.lead_id:
            wait_for_card(services, pipe, job, event)
        else:
            services.outbox.add(pipe, [job])


def wait_for_card(services: Services, pipe: Pipeline, job: Job, event: WebhookEvent) -> None:
    """The event waits for its lead's card (so it carries the thread's link) and goes anyway
    when its timer comes. The timer first: a card posted in between then finds both."""
    assert event.phone is not None and event.lead_id is not None
    timer = replace(job, payload=replace(event, waited=True))
    services.outbox.add_later(pipe, timer, event.at + CARD_WAIT_SECONDS)
    services.webhooks.wait_for_card(pipe, event.phone, event.lead_id, event.id, timer)


async def queue(services: Services, *jobs: Job | None) -> None:
    """Queue the events that exist (a line without receivers makes none)."""
    found = some(*jobs)
    if found:
        await services.outbox.enqueue(found)


async def card_posted(services: Services, phone: str, line: str, lead_id: str) -> None:
    """The lead's card is in Slack (or never will be): its events waiting for it go on now,
    and their timers go."""
    if not services.lines.webhook_urls(line):
        return
    waiting = await services.webhooks.waiting_for_card(phone, lead_id)
    if not waiting:
        return
    pipe = services.redis.pipeline(transaction=False)
    for timer in waiting:
        services.outbox.add_instead_of_later(pipe, timer)
    await pipe.execute()


# --- /textback webhook ---------------------------------------------------------------------------


async def endpoints(services: Services, urls: list[str]) -> list[Endpoint]:
    """These receiver URLs, each with its state."""
    return [await services.webhooks.endpoint(url) for url in urls]


async def enable(services: Services, url: str) -> bool:
    """A URL disabled by a 410 sends again. False when it was not disabled."""
    enabled = await services.webhooks.enable(url)
    if enabled:
        log.info("webhook enabled url=%s", webhooks.shown_url(url))
    return enabled


async def retry_failed(services: Services, urls: list[str]) -> int:
    """The deliveries given up on, to these URLs, from their first attempt again."""
    jobs: list[Job] = []
    for url in urls:
        jobs += await services.webhooks.take_failed(url)
    if jobs:
        await services.outbox.enqueue(jobs)
    log.info("webhook retry queued=%d", len(jobs))
    return len(jobs)


async def send_test(
    services: Services, urls: list[str], user_id: str, line: Line | None = None
) -> int:
    """A webhook.test event to each URL (Make learns a scenario's fields from the first one),
    about `line` (the channel's), else the first line that sends to the URL."""
    jobs = []
    for url in urls:
        using = services.lines.using_webhook(url)
        about = line or (using[0] if using else services.lines.known(DEFAULT_LINE))
        event_id = webhooks.fresh_event_id()
        facts = webhooks.sample(about.id, about.business_name, about.channel_id) | {"by": user_id}
        payload = WebhookEvent(
            id=event_id,
            type="webhook.test",
            at=services.clock(),
            line=about.id,
            facts=facts,
            only=url,
        )
        jobs.append(Job(f"webhook:{event_id}", payload))
    await services.outbox.enqueue(jobs)
    return len(jobs)
