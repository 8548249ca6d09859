"""Outbound webhooks (Standard Webhooks v1): each event on its trigger, signed as the
specification says (checked by the receiver's own code), retried on its schedule, honouring a
429's Retry-After, disabled by a 410, and never in the way of a text."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from redis.asyncio import Redis

from bot.domain import webhooks
from bot.domain.jobs import Job, WebhookDelivery, WebhookEvent
from bot.lines import Lines, LinesError
from bot.lines import load as load_lines
from bot.outbox.worker import Worker
from bot.settings import Settings, SettingsError, load_settings
from bot.simulators import Caller, Voicemail
from handlers.access_log import redact
from tests.calling import CREW_PHONE, live, settle, tap
from tests.conftest import (
    BUSINESS_NUMBER,
    CALLER,
    CHANNEL,
    CREW_USER,
    SIGNING_SECRET,
    Clock,
    Harness,
    cards,
    new_sid,
    slash_command,
    start_harness,
)
from tests.lead_helpers import click, open_lead, react, wait_state
from tests.signing import slack_headers
from tests.standins import SlackStandIn, TwilioStandIn
from tests.test_intake import intake_path, open_form, submit
from tests.waiting import wait_until
from tests.webhook_receiver import Answer, WebhookReceiver, verify

# The specification's published example (standardwebhooks.com): its secret signs our tests too.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CREW = "+12025550188"  # the harness's FORWARD_TO
CREW_NAME = "Ann Crew"
HOOK = "zap-3fa9c1d2e7"  # a catch-hook path: the part of the URL that is its secret


@pytest.fixture
async def receiver(clock: Clock) -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(SECRET, clock=clock) as found:
        yield found


@pytest.fixture
async def hooked(
    clean_env: None,
    redis: Redis,
    redis_url: str,
    key_prefix: str,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    clock: Clock,
    receiver: WebhookReceiver,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Harness]:
    """The app with its worker, sending every event to `receiver`."""
    marker = request.node.get_closest_marker("settings")
    overrides = {k.lower(): v for k, v in (marker.kwargs if marker else {}).items()}
    slack.add_user(CREW_USER, CREW_NAME, name="ann")
    harness = await start_harness(
        redis_url,
        key_prefix,
        slack,
        twilio,
        clock,
        webhook_urls=receiver.url(HOOK),
        webhook_secret=SECRET,
        **overrides,
    )
    yield harness
    await harness.client.close()


async def arrived(receiver: WebhookReceiver, event_type: str, count: int = 1) -> list[Any]:
    found = await wait_until(
        lambda: len(receiver.of_type(event_type)) >= count and receiver.of_type(event_type),
        timeout=10,
        message=f"no {event_type} (got {receiver.types()})",
    )
    assert all(item.verified for item in receiver.received)
    return list(found)


def hook_url(harness: Harness) -> str:
    return harness.settings.webhook_urls[0]


async def due_retries(harness: Harness) -> list[tuple[Job, float]]:
    services = harness.services
    raw = await services.redis.zrange(services.keys.retry("webhooks"), 0, -1, withscores=True)
    found = [(Job.from_json(str(member)), float(score)) for member, score in raw]
    # Deliveries only: an event waiting for its lead's card has a timer there too.
    return [(job, due) for job, due in found if isinstance(job.payload, WebhookDelivery)]


# --- signing -------------------------------------------------------------------------------------


def test_signature_matches_the_specifications_published_example() -> None:
    key = webhooks.secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    signature = webhooks.sign(
        key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}'
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_readme_receiver_example_accepts_the_published_example() -> None:
    """The 12-line receiver in the README, run as a reader would paste it."""
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = re.search(r"```python\n(# receiver.py.*?)```", text, re.S)
    assert block is not None, "README has no receiver example"
    code = block.group(1)
    assert len(code.strip().splitlines()) <= 12
    scope: dict[str, Any] = {}
    exec(compile(code, "README receiver", "exec"), scope)
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    body = b'{"test": 2432232314}'
    assert scope["verified"](SECRET, headers, body, now=1614265330)
    assert not scope["verified"](SECRET, headers, body + b" ", now=1614265330)
    assert not scope["verified"](SECRET, headers, body, now=1614265330 + 600)


def test_the_receivers_own_check_agrees_with_the_published_example() -> None:
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    assert verify(SECRET, headers, b'{"test": 2432232314}', now=1614265330)


def test_a_fresh_secret_is_accepted_and_signs() -> None:
    secret = webhooks.new_secret()
    assert secret.startswith("whsec_")
    assert len(webhooks.secret_key(secret)) == 32


def test_webhook_secret_command_prints_a_secret(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    assert main(["webhook", "secret"]) == 0
    printed = capsys.readouterr().out.strip()
    assert len(webhooks.secret_key(printed)) >= 24


# --- settings ------------------------------------------------------------------------------------

BASE = {
    "public_url": "https://tb.example.test",
    "slack_bot_token": "xoxb-x",
    "slack_signing_secret": "s",
    "slack_channel_id": "C1",
    "twilio_account_sid": "AC1",
    "twilio_auth_token": "t",
    "business_name": "Johnson Electric",
    "_env_file": None,
}


@pytest.mark.parametrize(
    ("urls", "secret", "complaint"),
    [
        (
            "http://hooks.example.com/x",
            SECRET,
            "WEBHOOK_URLS is invalid: Value error, URL 1: must be",
        ),
        ("https://ok.example.com/a,ftp://x/y", SECRET, "URL 2: must be an https:// URL"),
        ("https://ok.example.com/a", None, "WEBHOOK_SECRET is invalid: Value error, required"),
        ("https://ok.example.com/a", "sekrit", "must start with whsec_"),
        ("https://ok.example.com/a", "whsec_c2hvcnQ=", "at least 24 bytes"),
        ("https://ok.example.com/a", "whsec_not base64!", "must be base64"),
    ],
)
def test_a_malformed_webhook_setting_stops_start_up_with_a_clear_message(
    clean_env: None, urls: str, secret: str | None, complaint: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(**BASE, webhook_urls=urls, webhook_secret=secret)
    message = str(refused.value)
    assert complaint in message
    assert "hooks.example.com" not in message and "sekrit" not in message  # never echoed


def test_https_and_loopback_http_urls_are_accepted(clean_env: None) -> None:
    urls = "https://hooks.zapier.com/hooks/catch/1/abc/, http://localhost:8080/h, http://[::1]:9/h"
    settings = load_settings(**BASE, webhook_urls=urls, webhook_secret=SECRET)
    assert settings.webhook_urls == [
        "https://hooks.zapier.com/hooks/catch/1/abc/",
        "http://localhost:8080/h",
        "http://[::1]:9/h",
    ]


# --- each event on its trigger ---------------------------------------------------------------


async def test_a_missed_call_tells_lead_created_with_the_thread_link_and_then_lead_texted(
    hooked: Harness, receiver: WebhookReceiver
) -> None:
    await hooked.missed_call(CallerName="JOHN SMITH")
    (created,) = await arrived(receiver, "lead.created")
    (texted,) = await arrived(receiver, "lead.texted")
    await hooked.drained()

    card = cards(hooked)[0]
    lead = created.data["lead"]
    assert created.headers["content-type"] == "application/json"
    assert created.msg_id.startswith("msg_")
    assert created.data["source"] == "missed_call"
    assert lead["caller"] == {"number": CALLER, "name": "JOHN SMITH"}
    assert lead["business_number"] == BUSINESS_NUMBER
    assert lead["line"] == {"id": "default", "name": "Johnson Electric"}
    # The event waited for the card (which waited for the text): link and outcome included.
    assert lead["slack_permalink"] == (
        f"https://textback-test.slack.com/archives/{CHANNEL}/p{card['ts'].replace('.', '')}"
    )
    assert lead["auto_text"] == {"status": "sent", "error": None}
    assert lead["called_at"] and lead["texted_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created.event["timestamp"])
    assert texted.data["lead"]["state"] == "texted"
    assert texted.data["message"]["status"] == "sent"
    assert texted.data["message"]["text"] == hooked.twilio.messages_to(CALLER)[0]["Body"]
    assert texted.data["lead"]["version"] != lead["version"]  # each reading its own version


async def test_caller_texts_tell_message_received_each_and_lead_replied_once(
    hooked: Harness, receiver: WebhookReceiver
) -> None:
    await open_lead(hooked)
    await hooked.caller_text('Need a quote "}, "type": "lead.closed')
    await hooked.caller_text("Tuesday works")

    received = await arrived(receiver, "message.received", 2)
    (replied,) = await arrived(receiver, "lead.replied")
    await hooked.drained()
    texts = sorted(item.data["message"]["text"] for item in received)
    assert texts == ['Need a quote "}, "type": "lead.closed', "Tuesday works"]
    assert replied.data["message"]["text"] == 'Need a quote "}, "type": "lead.closed'
    assert replied.data["lead"]["state"] == "replied"
    assert replied.data["lead"]["first_reply_at"]
    assert len(receiver.of_type("lead.replied")) == 1
    assert receiver.types().count("lead.closed") == 0  # caller text never shapes the body
    latest = max(received, key=lambda item: item.data["lead"]["version"])
    assert latest.data["lead"]["messages"] == {"from_caller": 2, "to_caller": 1}


async def test_a_caller_photo_comes_as_a_link_that_works_without_twilio_credentials(
    hooked: Harness, receiver: WebhookReceiver
) -> None:
    # A Twilio media URL, as Twilio's are: behind the account's credentials, redirecting to a CDN.
    url = hooked.twilio.add_media("panel", b"\xff\xd8jpeg-bytes", "image/jpeg", redirect=True)
    await hooked.caller_text(
        "the panel", NumMedia="1", MediaUrl0=url, MediaContentType0="image/jpeg"
    )
    (item,) = await arrived(receiver, "message.received")
    (media,) = item.data["message"]["media"]
    assert media["content_type"] == "image/jpeg"
    assert "twilio" not in media["url"] and hooked.twilio.url not in media["url"]
    path = media["url"].removeprefix(hooked.settings.public_url)
    await wait_until(lambda: hooked.slack.uploads, message="photo never uploaded")
    before = len(hooked.twilio.media.cdn_fetches)  # the thread's upload fetched it too
    response = await hooked.client.get(path)
    assert response.status == 200
    assert await response.read() == b"\xff\xd8jpeg-bytes"
    # Followed to the CDN without the account's credentials (the CDN refuses them).
    assert [(f.sent_credentials, f.status) for f in hooked.twilio.media.cdn_fetches[before:]] == [
        (False, 200)
    ]
    forged = await hooked.client.get(path[:-3] + "abc")
    assert forged.status == 404
    await hooked.drained()


async def test_a_crew_reply_that_went_out_tells_message_sent_with_its_author(
    hooked: Harness, receiver: WebhookReceiver
) -> None:
    thread = await open_lead(hooked)
    await hooked.crew_reply(thread, "On our way at 3")

    (sent,) = await arrived(receiver, "message.sent")
    await hooked.drained()
    assert sent.data["message"]["text"] == "On our way at 3"
    assert sent.data["by"] == {"slack_id": CREW_USER, "display_name": "ann"}
    assert sent.data["lead"]["first_answer_by"] == {"slack_id": CREW_USER, "display_name": "ann"}
    assert sent.data["lead"]["first_answer_at"]
    assert sent.data["lead"]["messages"]["to_caller"] == 2


async def test_claim_book_close_and_their_undo_are_told_with_who_and_a_growing_version(
    hooked: Harness, receiver: WebhookReceiver
) -> None:
    card = await open_lead(hooked)
    await click(hooked, card, "lead_claim")
    (claimed,) = await arrived(receiver, "lead.claimed")
    await click(hooked, card, "lead_book")
    (booked,) = await arrived(receiver, "lead.booked")
    await click(hooked, card, "lead_close")
    (closed,) = await arrived(receiver, "lead.closed")
    await react(hooked, card, "x")  # already closed: nothing new
    await react(hooked, card, "x", added=False)
    (reopened,) = await arrived(receiver, "lead.reopened")
    await hooked.drained()

    assert claimed.data["by"] == {"slack_id": CREW_USER, "display_name": "ann"}
    assert claimed.data["lead"]["claimer"] == {"slack_id": CREW_USER, "display_name": "ann"}
    assert booked.data["lead"]["state"] == "booked" and booked.data["lead"]["booked_at"]
    assert closed.data["lead"]["closed_at"] and closed.data["lead"]["booked_at"] is None
    assert reopened.data["undone"] == "close"
    assert reopened.data["lead"]["state"] != "closed" and reopened.data["lead"]["closed_at"] is None
    versions = [e.data["lead"]["version"] for e in (claimed, booked, closed, reopened)]
    assert versions == sorted(versions) and len(set(versions)) == 4


async def test_an_intake_form_tells_its_fields_and_whether_consent_was_ticked(
    hooked: Harness, receiver: WebhookReceiver
) -> None:
    path = await intake_path(hooked)
    form = await open_form(hooked, path)
    response = await submit(
        hooked, path, form, need="Panel upgrade", name="Dana <b>", address="12 Elm", best_time=""
    )
    assert response.status == 200

    (item,) = await arrived(receiver, "intake.submitted")
    await hooked.drained()
    assert item.data["intake"] == {
        "name": "Dana <b>",
        "need": "Panel upgrade",
        "address": "12 Elm",
        "best_time": "",
        "consent": False,
    }
    assert item.data["lead"]["caller"]["name"] == "Dana <b>"


async def test_stop_and_start_tell_consent_opted_out_and_opted_in(
    hooked: Harness, receiver: WebhookReceiver
) -> None:
    await open_lead(hooked)
    await hooked.caller_text("STOP", OptOutType="STOP")
    (out,) = await arrived(receiver, "consent.opted_out")
    await hooked.caller_text("STOP", OptOutType="STOP")  # already out: no second event
    await hooked.caller_text("START", OptOutType="START")
    (back,) = await arrived(receiver, "consent.opted_in")
    await hooked.drained()
    assert out.data["consent"] == {"source": "keyword:STOP"}  # as the consent ledger says
    assert back.data["consent"] == {"source": "keyword:START"}
    assert len(receiver.of_type("consent.opted_out")) == 1


async def test_webhook_test_command_sends_a_test_event(
    hooked: Harness, receiver: WebhookReceiver
) -> None:
    response = await slash_command(hooked, "webhook test")
    assert "Sent a `webhook.test` event to 1 webhook" in await response.text()
    (item,) = await arrived(receiver, "webhook.test")
    assert item.data["by"] == {"slack_id": CREW_USER, "display_name": "ann"}
    assert item.data["test"] is True
    # Every field a real event has, so a tool that learns fields from the first event (Make)
    # learns them all.
    await hooked.caller_text("Hello")
    (real,) = await arrived(receiver, "message.received")
    await hooked.drained()
    assert set(item.data["lead"]) == set(real.data["lead"])
    assert set(item.data["message"]) == set(real.data["message"])


async def test_no_webhook_urls_queue_nothing_and_keep_nothing(harness: Harness) -> None:
    await open_lead(harness)
    await harness.caller_text("hello")
    await harness.drained()
    services = harness.services
    found = [k async for k in services.redis.scan_iter(match=f"{services.keys.prefix}:*")]
    assert [k for k in found if ":webhook:" in k or "slack-user" in k or "once:" in k] == []
    assert await services.redis.xlen(services.keys.stream("webhooks")) == 0


# --- delivery: retries, 410, 429, a hang, a crash ------------------------------------------


async def test_a_receiver_answering_500_then_200_gets_the_same_id_with_a_new_timestamp(
    hooked: Harness, receiver: WebhookReceiver
) -> None:
    receiver.answer(Answer(500))
    await slash_command(hooked, "webhook test")
    await wait_until(lambda: receiver.received, message="no first attempt")
    ((_, due),) = await wait_until(lambda: due_retries(hooked), message="no retry scheduled")
    # The schedule's first retry: about 5 s (±10 %).
    assert 4.4 <= due - hooked.clock() <= 5.6

    hooked.clock.advance(6)
    await arrived(receiver, "webhook.test")
    await hooked.drained()
    first, second = receiver.received
    assert (first.status, second.status) == (500, 200)
    assert first.msg_id == second.msg_id
    assert second.timestamp - first.timestamp >= 5
    assert first.body == second.body
    endpoint = await hooked.services.webhooks.endpoint(hook_url(hooked))
    assert (endpoint.delivered, endpoint.failing, endpoint.state) == (1, 0, "active")
    assert endpoint.last_error == "HTTP 500"


async def test_429_with_retry_after_waits_that_long_before_trying_again(
    hooked: Harness, receiver: WebhookReceiver
) -> None:
    receiver.answer(Answer(429, {"Retry-After": "120"}))
    await slash_command(hooked, "webhook test")
    ((_, due),) = await wait_until(lambda: due_retries(hooked), message="no retry scheduled")
    assert due - hooked.clock() >= 119  # not the schedule's 5 s

    hooked.clock.advance(60)
    assert await hooked.services.outbox.promote_due("webhooks", hooked.clock()) == 0  # not yet
    assert len(receiver.received) == 1
    hooked.clock.advance(61)
    await arrived(receiver, "webhook.test")
    assert [r.status for r in receiver.received] == [429, 200]


@pytest.mark.settings(ADMIN_USER_IDS=CREW_USER)
async def test_410_disables_the_url_tells_the_channel_and_enable_brings_it_back(
    hooked: Harness, receiver: WebhookReceiver
) -> None:
    receiver.answer(Answer(410))
    await slash_command(hooked, "webhook test")
    notice = await wait_until(
        lambda: [p for p in hooked.slack.posts if "410 Gone" in p["text"]],
        message="no notice in the channel",
    )
    assert notice[0]["channel"] == CHANNEL
    assert "/textback webhook enable 1" in notice[0]["text"]
    assert HOOK not in notice[0]["text"]  # the hook URL is its receiver's secret

    await hooked.caller_text("while it is disabled")
    await hooked.drained()
    assert len(receiver.received) == 1  # nothing more went to a disabled URL
    status = await (await slash_command(hooked, "webhook")).text()
    assert "*disabled* by a 410 Gone" in status
    assert "failed events kept: " in status and "failed events kept: 0" not in status

    answer = await (await slash_command(hooked, "webhook enable 1")).text()
    assert "is on again" in answer
    answer = await (await slash_command(hooked, "webhook retry")).text()
    assert answer.startswith("Sending ")
    await arrived(receiver, "message.received")
    await arrived(receiver, "webhook.test")
    await hooked.drained()


# A few slots: each is held by a receiver that hangs, one slash command apiece.
@pytest.mark.settings(WEBHOOK_TIMEOUT_SECONDS=3, WORKER_CONCURRENCY=8)
async def test_a_hanging_receiver_times_out_is_retried_and_texts_go_out_on_time(
    hooked: Harness, receiver: WebhookReceiver
) -> None:
    slots = hooked.settings.worker_concurrency
    receiver.answer(*[Answer(hang=True)] * slots)
    for _ in range(slots):
        await slash_command(hooked, "webhook test")
    await wait_until(lambda: len(receiver.received) == slots, message="receiver not hanging")

    # Every webhook slot is held by a hanging receiver: texts go out at once all the same.
    callers = [f"+1202555014{n}" for n in range(6)]
    started = time.monotonic()
    for caller in callers:
        await hooked.missed_call(caller=caller)
    await wait_until(
        lambda: all(hooked.twilio.messages_to(c) for c in callers), timeout=5, message="texts late"
    )
    assert time.monotonic() - started < 2
    assert len(receiver.received) == slots  # still hanging

    await wait_until(lambda: _count(due_retries(hooked), slots), timeout=10, message="retries")
    endpoint = await hooked.services.webhooks.endpoint(hook_url(hooked))
    assert endpoint.last_error == "no answer within 3 s"

    hooked.clock.advance(6)
    await arrived(receiver, "webhook.test", slots)
    await arrived(receiver, "lead.created", len(callers))
    await hooked.drained()


async def _count(found: Any, at_least: int) -> bool:
    return len(await found) >= at_least


@pytest.mark.settings(run_worker=False)
async def test_an_event_whose_worker_died_mid_request_is_delivered_by_another(
    hooked: Harness, receiver: WebhookReceiver
) -> None:
    outbox = hooked.services.outbox
    await outbox.ensure_groups()
    await slash_command(hooked, "webhook test")
    # A worker took the event, marked it sent, and died before any answer was recorded.
    (taken,) = await outbox.read("webhooks", "dead-worker", count=10, block_ms=50)
    assert taken.job is not None and isinstance(taken.job.payload, WebhookEvent)
    assert await hooked.services.webhooks.start_event(taken.job.id, again=False)

    survivor = Worker(hooked.services, reclaim_idle_ms=100)
    task = asyncio.create_task(survivor.run())
    try:
        await arrived(receiver, "webhook.test")
        await hooked.drained()
    finally:
        await survivor.shutdown(task)
    assert [r.msg_id for r in receiver.received] == [taken.job.payload.id]


@pytest.mark.settings(run_worker=False)
async def test_a_lead_event_whose_worker_died_mid_request_is_delivered_by_another(
    hooked: Harness, receiver: WebhookReceiver
) -> None:
    services = hooked.services
    await services.outbox.ensure_groups()
    lead = {"phone": CALLER, "line": "default", "channel": CHANNEL, "ts": "1.000100"}
    await services.redis.hset(services.keys.lead(CALLER, "lead1"), mapping=lead)
    event = WebhookEvent("msg_lead1", "lead.claimed", hooked.clock(), "default", CALLER, "lead1")
    await services.outbox.enqueue([Job("webhook:msg_lead1", event)])
    (_,) = await services.outbox.read("webhooks", "dead-worker", count=10, block_ms=50)
    start, _ = await services.webhooks.start_lead_event(
        CALLER, "lead1", "webhook:msg_lead1", again=False, may_wait=True
    )
    assert start == "go"  # the dead worker had begun sending it

    survivor = Worker(services, reclaim_idle_ms=100)
    task = asyncio.create_task(survivor.run())
    try:
        (item,) = await arrived(receiver, "lead.claimed")
        await hooked.drained()
    finally:
        await survivor.shutdown(task)
    assert item.msg_id == "msg_lead1"
    assert item.data["lead"]["version"] == 2  # the takeover read the lead again


@pytest.mark.settings(run_worker=False)
async def test_a_retry_whose_worker_died_mid_request_is_delivered_by_another(
    hooked: Harness, receiver: WebhookReceiver
) -> None:
    outbox = hooked.services.outbox
    await outbox.ensure_groups()
    body = webhooks.body("webhook.test", hooked.clock(), {"n": 1})
    delivery = WebhookDelivery("msg_dead", hook_url(hooked), body, "default")
    await outbox.enqueue([Job("webhook:msg_dead:x", delivery, attempt=3)])
    taken = await outbox.read("webhooks", "dead-worker", count=10, block_ms=50)
    assert [d.job.id for d in taken if d.job] == ["webhook:msg_dead:x"]

    survivor = Worker(hooked.services, reclaim_idle_ms=100)
    task = asyncio.create_task(survivor.run())
    try:
        await arrived(receiver, "webhook.test")
        await hooked.drained()
    finally:
        await survivor.shutdown(task)
    assert [r.msg_id for r in receiver.received] == ["msg_dead"]


async def test_after_the_last_attempt_the_event_is_kept_as_failed_and_retry_sends_it(
    hooked: Harness, receiver: WebhookReceiver
) -> None:
    receiver.answer(*[Answer(503)] * webhooks.ATTEMPTS)
    await slash_command(hooked, "webhook test")
    for attempt in range(1, webhooks.ATTEMPTS):
        await wait_until(
            lambda a=attempt: len(receiver.received) >= a, message=f"attempt {attempt}"
        )
        await wait_until(lambda: due_retries(hooked), message="no retry scheduled")
        hooked.clock.advance(webhooks.RETRY_SCHEDULE[attempt - 1] * 1.1 + 1)
    await wait_until(lambda: len(receiver.received) == webhooks.ATTEMPTS)
    await hooked.drained()
    assert len({r.msg_id for r in receiver.received}) == 1

    status = await (await slash_command(hooked, "webhook")).text()
    assert "failing (10 attempts since the last success)" in status
    assert "failed events kept: 1" in status and "HTTP 503" in status

    await slash_command(hooked, "webhook retry 1")
    (item,) = await arrived(receiver, "webhook.test")
    assert item.msg_id == receiver.received[0].msg_id
    status = await (await slash_command(hooked, "webhook")).text()
    assert "failed events kept: 0" in status and "— active" in status


async def test_the_last_attempt_is_counted_as_given_up_once_and_never_buried(
    hooked: Harness, receiver: WebhookReceiver
) -> None:
    receiver.answer(*[Answer(503)] * webhooks.ATTEMPTS)
    await slash_command(hooked, "webhook test")
    for attempt in range(1, webhooks.ATTEMPTS):
        await wait_until(
            lambda a=attempt: len(receiver.received) >= a, message=f"attempt {attempt}"
        )
        await wait_until(lambda: due_retries(hooked), message="no retry scheduled")
        hooked.clock.advance(webhooks.RETRY_SCHEDULE[attempt - 1] * 1.1 + 1)
    await wait_until(lambda: len(receiver.received) == webhooks.ATTEMPTS)
    await hooked.drained()
    outbox = hooked.services.outbox
    assert await outbox.given_up_counts() == {"webhook.deliver": 1}
    assert await outbox.dead_counts() == {}  # kept for `/textback webhook retry`, not buried
    assert (await hooked.services.webhooks.endpoint(hook_url(hooked))).failed == 1


@pytest.mark.settings(run_worker=False)
async def test_a_delivery_the_worker_gives_up_on_for_an_error_of_ours_is_kept_as_failed(
    hooked: Harness, receiver: WebhookReceiver
) -> None:
    services = hooked.services
    await services.outbox.ensure_groups()
    body = webhooks.body("webhook.test", hooked.clock(), {"n": 1})
    delivery = WebhookDelivery("msg_ours", hook_url(hooked), body, "default")
    last = webhooks.ATTEMPTS - 1
    await services.outbox.enqueue([Job("webhook:msg_ours:x", delivery, attempt=last)])
    await services.webhook_http.close()  # every request now raises: not the receiver's doing

    worker = Worker(services)
    task = asyncio.create_task(worker.run())
    try:
        await wait_until(
            lambda: _failed_kept(hooked), message="the delivery was not kept as failed"
        )
        await hooked.drained()
    finally:
        await worker.shutdown(task)
    assert receiver.received == []
    assert await services.outbox.given_up_counts() == {"webhook.deliver": 1}  # once
    assert await services.outbox.dead_counts() == {}
    endpoint = await services.webhooks.endpoint(hook_url(hooked))
    assert endpoint.last_error == "not sent: an error of ours"
    [kept] = await services.webhooks.take_failed(hook_url(hooked))
    assert kept.payload == delivery


async def _failed_kept(harness: Harness) -> bool:
    return (await harness.services.webhooks.endpoint(hook_url(harness))).failed == 1


async def test_enable_is_for_admins(hooked: Harness, receiver: WebhookReceiver) -> None:
    receiver.answer(Answer(410))
    await slash_command(hooked, "webhook test")
    await wait_until(lambda: [p for p in hooked.slack.posts if "410 Gone" in p["text"]])
    answer = await (await slash_command(hooked, "webhook enable 1")).text()
    assert answer.startswith("Only admins can change this")
    assert await hooked.services.webhooks.is_disabled(hook_url(hooked))
    await hooked.drained()


# --- what main's features tell: voicemail, call backs, landlines --------------------------------


@pytest.mark.settings(VOICEMAIL=True)
async def test_a_voicemail_is_the_first_reply_and_its_transcript_a_message_received(
    hooked: Harness, receiver: WebhookReceiver
) -> None:
    live(hooked)
    words = "The breaker in the garage keeps tripping, call me back please."
    await hooked.twilio.call_in(
        CALLER,
        BUSINESS_NUMBER,
        crew={CREW: "no-answer"},
        caller=Caller(voicemail=Voicemail(23, words)),
    )
    await settle(hooked)
    (received,) = await arrived(receiver, "message.received")
    (replied,) = await arrived(receiver, "lead.replied")
    await hooked.drained()
    message = received.data["message"]
    assert (message["kind"], message["text"], message["media"]) == ("voicemail", words, [])
    assert message["sid"].startswith("RE")  # the recording
    assert replied.data["message"]["kind"] == "voicemail"
    assert replied.data["message"]["sid"] == message["sid"]
    assert received.data["lead"]["first_reply_at"]
    assert received.data["lead"]["messages"]["from_caller"] == 1
    assert len(receiver.of_type("message.received")) == 1  # the audio alone tells no message


async def test_a_call_back_that_reached_the_caller_is_the_leads_first_answer(
    hooked: Harness, receiver: WebhookReceiver
) -> None:
    live(hooked)
    response = await slash_command(hooked, f"me phone {CREW_PHONE}")
    assert response.status == 200
    hooked.twilio.voice.phones[CREW_PHONE] = "answer-and-press"
    hooked.twilio.voice.phones[CALLER] = "answer-and-press"
    card = await open_lead(hooked)
    await tap(hooked, card, "lead_call_back")
    await wait_state(hooked, card, "Called back")
    await settle(hooked)
    await click(hooked, card, "lead_claim")
    (claimed,) = await arrived(receiver, "lead.claimed")
    await hooked.drained()
    lead = claimed.data["lead"]
    assert lead["first_answer_by"] == {"slack_id": CREW_USER, "display_name": "ann"}
    assert lead["first_answer_at"]
    assert lead["messages"]["to_caller"] == 1  # the auto-text: a call is no text


async def test_a_landline_callers_auto_text_is_told_undelivered(
    hooked: Harness, receiver: WebhookReceiver
) -> None:
    live(hooked)  # Twilio sends the texts' status callbacks
    hooked.twilio.fail_delivery_to(CALLER, 30006)
    await hooked.missed_call()
    found = await wait_until(
        lambda: [
            item
            for item in receiver.of_type("lead.texted")
            if item.data["message"]["status"] == "undelivered"
        ],
        message=f"no undelivered lead.texted (got {receiver.types()})",
    )
    await hooked.twilio.settled()
    await hooked.drained()
    (undelivered,) = found
    assert "30006" in undelivered.data["message"]["error"]
    assert undelivered.data["lead"]["auto_text"]["status"] == "undelivered"


# --- several lines (LINES_FILE's webhook_urls) ------------------------------------------------

UPTOWN, DOWNTOWN = "+12025550199", "+12125550177"
UPTOWN_CHANNEL, DOWNTOWN_CHANNEL = "C0UPTOWN01", "C0DOWNTOWN"


def _lines_toml(uptown_urls: str) -> str:
    return (
        f'[[line]]\nid = "uptown"\nnumbers = ["{UPTOWN}"]\nname = "Acme Uptown"\n'
        f'channel = "{UPTOWN_CHANNEL}"\nwebhook_urls = {uptown_urls}\n\n'
        f'[[line]]\nid = "downtown"\nnumbers = ["{DOWNTOWN}"]\nname = "Acme Downtown"\n'
        f'channel = "{DOWNTOWN_CHANNEL}"\nwebhook_urls = []\n'
    )


@pytest.fixture
async def lined(
    clean_env: None,
    redis: Redis,
    redis_url: str,
    key_prefix: str,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    clock: Clock,
    receiver: WebhookReceiver,
    tmp_path: Path,
) -> AsyncIterator[Harness]:
    """uptown sends to its own URL, downtown to none, the catch-all (default) to WEBHOOK_URLS."""
    path = tmp_path / "lines.toml"
    path.write_text(_lines_toml(f'["{receiver.url("uptown")}"]'))
    slack.add_user(CREW_USER, CREW_NAME, name="ann")
    harness = await start_harness(
        redis_url,
        key_prefix,
        slack,
        twilio,
        clock,
        lines_file=str(path),
        webhook_urls=receiver.url(HOOK),
        webhook_secret=SECRET,
        admin_user_ids=CREW_USER,
    )
    yield harness
    await harness.client.close()


async def _call(harness: Harness, to: str, caller: str) -> None:
    params = {"CallSid": new_sid("CA"), "From": caller, "To": to, "Direction": "inbound"}
    response = await harness.twilio_post(
        "/twilio/voice/dial-status", {**params, "DialCallStatus": "no-answer"}
    )
    assert response.status == 200


async def test_each_line_tells_its_own_receivers(lined: Harness, receiver: WebhookReceiver) -> None:
    await _call(lined, UPTOWN, "+12025550131")
    await _call(lined, DOWNTOWN, "+12025550132")
    await _call(lined, BUSINESS_NUMBER, "+12025550133")  # no [[line]] lists it: the catch-all
    await wait_until(lambda: len(receiver.of_type("lead.created")) >= 2, message="no events")
    await lined.drained()
    by_path = {
        item.data["lead"]["caller"]["number"]: (item.path, item.data["lead"]["line"])
        for item in receiver.of_type("lead.created")
    }
    assert by_path == {
        "+12025550131": ("/hook/uptown", {"id": "uptown", "name": "Acme Uptown"}),
        "+12025550133": (f"/hook/{HOOK}", {"id": "default", "name": "Johnson Electric"}),
    }  # downtown's webhook_urls = []: none of its events


async def test_webhook_in_a_lines_channel_shows_and_acts_on_that_lines_urls(
    lined: Harness, receiver: WebhookReceiver
) -> None:
    outside = await _command(lined, "webhook", "D0DIRECT")
    assert "*Webhooks* (2):" in outside
    assert "(lines: `uptown`)" in outside and "(lines: `default`)" in outside
    uptown = await _command(lined, "webhook", UPTOWN_CHANNEL)
    assert "*Webhooks* (1):" in uptown and "1. `http://127.0.0.1" in uptown
    assert "/…town` — active" in uptown and HOOK not in uptown  # a hint of the path only
    downtown = await _command(lined, "webhook", DOWNTOWN_CHANNEL)
    assert "sends its events to no webhook" in downtown
    refused = await _command(lined, "webhook test 2", UPTOWN_CHANNEL)
    assert "is not one of the webhooks here (1)" in refused

    receiver.answer(Answer(410))
    sent = await _command(lined, "webhook test", UPTOWN_CHANNEL)
    assert "Sent a `webhook.test` event to 1 webhook" in sent
    notice = await wait_until(
        lambda: [p for p in lined.slack.posts if "410 Gone" in p["text"]], message="no notice"
    )
    await lined.drained()
    assert [p["channel"] for p in notice] == [UPTOWN_CHANNEL]  # only the line that uses it
    (test,) = [r for r in receiver.received if r.path == "/hook/uptown"]
    assert test.type == "webhook.test" and test.data["lead"]["line"]["id"] == "uptown"
    assert "enable 1" in notice[0]["text"]
    answer = await _command(lined, "webhook enable 1", UPTOWN_CHANNEL)
    assert "is on again" in answer


async def _command(harness: Harness, words: str, channel: str) -> str:
    body = urlencode(
        {
            "command": "/textback",
            "text": words,
            "user_id": CREW_USER,
            "channel_id": channel,
            "team_id": "T0TEAM",
            "response_url": "https://hooks.slack.invalid/x",
            "trigger_id": "1.2",
        }
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        **slack_headers(SIGNING_SECRET, body),
    }
    response = await harness.client.post("/slack/events", data=body, headers=headers)
    assert response.status == 200
    return str(await response.text())


def _lines_settings(tmp_path: Path, uptown_urls: str, **more: Any) -> Settings:
    path = tmp_path / "lines.toml"
    path.write_text(_lines_toml(uptown_urls))
    return load_settings(**{**BASE, "lines_file": str(path), **more})


def test_a_lines_webhook_urls_replace_the_environments_for_that_line_only(
    clean_env: None, tmp_path: Path
) -> None:
    settings = _lines_settings(
        tmp_path,
        '["https://hooks.zapier.com/hooks/catch/1/up/", "https://hooks.zapier.com/hooks/catch/1/up/"]',
        webhook_urls="https://hook.eu1.make.com/all",
        webhook_secret=SECRET,
    )
    lines = Lines.from_settings(settings)
    assert lines.webhook_urls("uptown") == ("https://hooks.zapier.com/hooks/catch/1/up/",)
    assert lines.webhook_urls("downtown") == ()
    assert lines.webhook_urls("default") == ("https://hook.eu1.make.com/all",)
    assert lines.webhook_urls("since-removed") == ("https://hook.eu1.make.com/all",)  # catch-all
    assert lines.webhook_endpoints() == [
        "https://hooks.zapier.com/hooks/catch/1/up/",
        "https://hook.eu1.make.com/all",
    ]
    assert [line.id for line in lines.using_webhook("https://hook.eu1.make.com/all")] == ["default"]


@pytest.mark.parametrize(
    ("uptown_urls", "more", "complaint"),
    [
        (
            '["http://hooks.example.com/secret-path"]',
            {"webhook_secret": SECRET},
            "webhook_urls[0]: must be https://",
        ),
        (
            '["https://ok.example.com/a", "ftp://hooks.example.com/x"]',
            {"webhook_secret": SECRET},
            "webhook_urls[1]: must be an https:// URL",
        ),
        ('"https://ok.example.com/a"', {}, "webhook_urls needs WEBHOOK_SECRET"),
        ("42", {"webhook_secret": SECRET}, "webhook_urls must be a list of https:// URLs"),
    ],
)
def test_a_bad_webhook_urls_in_the_lines_file_stops_start_up_naming_the_entry(
    clean_env: None, tmp_path: Path, uptown_urls: str, more: dict[str, str], complaint: str
) -> None:
    settings = _lines_settings(tmp_path, uptown_urls, **more)
    with pytest.raises(LinesError) as refused:
        load_lines(settings)
    message = str(refused.value)
    assert message.startswith(f'LINES_FILE {tmp_path / "lines.toml"}: [[line]] #1 (id "uptown"): ')
    assert complaint in message
    assert "hooks.example.com" not in message and "secret-path" not in message  # never echoed


def test_the_access_log_hides_a_media_links_token() -> None:
    line = "GET /media/eyJ1IjoiaHR0cHM6Ly9hcGkudHdpbGlvLmNvbS9tIn0.c2ln HTTP/1.1"
    assert redact(line) == "GET /media/… HTTP/1.1"
