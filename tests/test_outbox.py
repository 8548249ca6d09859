"""The outbox under faults: Slack and Twilio failing, redeliveries, garbage on the stream."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.domain.jobs import Job, LeadThread, Notice, SendSms, SlackThread, ThreadPost
from bot.outbox.errors import Retry
from bot.outbox.perform import perform
from bot.outbox.posts import release_timer
from bot.outbox.worker import Worker
from storage.threads import PostedCard
from tests.conftest import BUSINESS_NUMBER, CALLER, CHANNEL, Harness, card_ts
from tests.waiting import wait_until

LINE = "default"
OTHER_CALLER = "+12025550145"


def successful_posts_at(harness: Harness) -> list[float]:
    return [c.at for c in harness.slack.calls if c.method == "chat.postMessage" and not c.failed]


def sms_job(job_id: str, body: str, to: str = CALLER) -> Job:
    sms = SendSms(
        to=to,
        from_=BUSINESS_NUMBER,
        body=body,
        purpose="test",
        line=LINE,
        report_to=SlackThread(CHANNEL),
    )
    return Job(job_id, sms)


def lead(lead_id: str) -> LeadThread:
    return LeadThread(OTHER_CALLER, LINE, lead_id, CHANNEL)


def card_job(job_id: str, lead_id: str, text: str) -> Job:
    return Job(job_id, ThreadPost(lead(lead_id).at(1), text, card=True))


def reply_job(job_id: str, lead_id: str, text: str) -> Job:
    return Job(job_id, ThreadPost(lead(lead_id).at(2), text))


def notice_job(job_id: str, text: str, channel: str = CHANNEL) -> Job:
    return Job(job_id, Notice(channel, text))


async def opted_out(harness: Harness, phone: str = CALLER) -> bool:
    return await harness.services.callers.is_opted_out(phone, LINE)


# --- Slack failing -----------------------------------------------------------------------------


async def test_slack_rate_limit_delays_the_card_but_not_the_text(harness: Harness) -> None:
    harness.slack.fail("chat.postMessage", status=429, retry_after=1, times=2)

    await harness.missed_call()

    await wait_until(lambda: successful_posts_at(harness), timeout=8, message="card never came")
    await harness.drained(timeout=8)
    assert len(harness.slack.posts) == 1
    assert "Missed call" in harness.slack.posts[0]["text"]
    failures = [c for c in harness.slack.calls if c.method == "chat.postMessage" and c.failed]
    assert [c.status for c in failures] == [429, 429]
    card_at = successful_posts_at(harness)[0]
    # Retry-After (1 s, twice) was honoured...
    assert card_at - failures[0].at >= 1.8
    # ...and the text did not wait for Slack.
    sent = harness.twilio.messages_to(CALLER)
    assert len(sent) == 1
    assert sent[0]["at"] < failures[1].at < card_at


async def test_slack_outage_keeps_caller_texts_in_order_after_the_card(harness: Harness) -> None:
    harness.slack.fail("chat.postMessage", status=500, times=3)
    await harness.missed_call()
    await wait_until(
        lambda: harness.slack.calls_to("chat.postMessage", failed=True),
        message="card never attempted",
    )

    bodies = ["first", "second", "third", "fourth"]
    for body in bodies:
        assert (await harness.caller_text(body)).status == 200

    await harness.drained(timeout=9)
    thread = card_ts(harness)
    assert thread is not None
    assert len(harness.slack.calls_to("chat.postMessage", failed=True)) == 3
    assert len(harness.slack.posts) == 1 + len(bodies)
    assert "Missed call" in harness.slack.posts[0]["text"]
    in_thread = [p["text"] for p in harness.slack.replies(thread)]
    assert [re.findall(r"^>(\w+)$", t, re.M)[0] for t in in_thread] == bodies


async def test_a_card_slack_refused_is_posted_again_as_a_card_before_the_callers_next_post(
    harness: Harness,
) -> None:
    harness.slack.fail("chat.postMessage", error="invalid_blocks")  # refused for good, once
    await harness.missed_call()
    await wait_until(lambda: harness.slack.calls_to("chat.postMessage", failed=True))
    await harness.drained()
    assert harness.slack.posts == []

    await harness.caller_text("are you there?")
    await harness.drained()

    card, reply = harness.slack.posts
    assert "Missed call" in card["text"] and not card.get("thread_ts")
    assert "are you there?" in reply["text"]
    assert reply["thread_ts"] == card_ts(harness)  # in the card's thread, not the channel
    assert len(harness.twilio.messages_to(CALLER)) == 1  # the auto-text went anyway
    error = await harness.services.redis.get(harness.services.keys.last_error())
    assert error is not None and "invalid_blocks" in error
    # The card posted again is the thread's parent: the crew's reply there reaches the caller.
    await harness.crew_reply(reply["thread_ts"], "Yes, we are")
    await wait_until(lambda: len(harness.twilio.messages_to(CALLER)) == 2, message="not relayed")


async def test_a_post_whose_card_slack_keeps_refusing_says_so_in_the_channel(
    harness: Harness,
) -> None:
    harness.slack.fail("chat.postMessage", error="invalid_blocks", times=2)
    await harness.missed_call()
    await wait_until(lambda: harness.slack.calls_to("chat.postMessage", failed=True))
    await harness.drained()

    await harness.caller_text("are you there?")
    await harness.drained()

    (post,) = harness.slack.posts
    assert not post.get("thread_ts")
    assert post["text"].startswith(":warning: This caller's lead card could not be posted")
    assert "are you there?" in post["text"]


# --- Twilio failing ----------------------------------------------------------------------------


async def test_twilio_server_errors_are_retried_into_one_text(harness: Harness) -> None:
    harness.twilio.fail_next(times=2, status=500)

    await harness.missed_call()

    await wait_until(lambda: harness.twilio.messages_to(CALLER), message="text never sent")
    await harness.drained()
    assert len(harness.twilio.messages_to(CALLER)) == 1
    assert [a["status"] for a in harness.twilio.attempts] == [500, 500, 201]


async def test_twilio_too_many_requests_is_retried_into_one_text(harness: Harness) -> None:
    harness.twilio.fail_next(times=2, status=429)

    await harness.missed_call()

    await wait_until(lambda: harness.twilio.messages_to(CALLER), message="text never sent")
    await harness.drained()
    assert len(harness.twilio.messages_to(CALLER)) == 1
    assert [a["code"] for a in harness.twilio.attempts] == [20429, 20429, None]


async def test_opted_out_error_on_the_auto_text_records_the_opt_out_without_retrying(
    harness: Harness,
) -> None:
    harness.twilio.fail_for_number(CALLER, code=21610, status=400)

    await harness.missed_call()

    thread = await wait_until(lambda: card_ts(harness), message="no lead card")
    notice = await wait_until(
        lambda: [p for p in harness.slack.replies(thread) if "21610" in p["text"]],
        message="no failure notice in the thread",
    )
    await harness.drained()
    assert "opted out" in notice[0]["text"]
    assert len(harness.twilio.attempts) == 1
    assert harness.twilio.messages == []
    assert await opted_out(harness)

    harness.twilio.clear_faults()
    await harness.crew_reply(thread, "Hi, following up")
    await wait_until(lambda: harness.slack.reactions, message="held reply got no reaction")
    await harness.drained()
    assert harness.twilio.messages == []
    assert harness.slack.reactions[0]["name"] == "warning"


async def test_failed_auto_text_notice_waits_for_a_slow_card(harness: Harness) -> None:
    """The failure is known in milliseconds; the card may still be on its way to Slack."""
    harness.slack.latency = 0.3
    harness.twilio.fail_for_number(CALLER, code=30034, status=400, message="Unregistered")

    await harness.missed_call()

    await wait_until(lambda: len(harness.slack.posts) >= 2, message="no failure notice")
    await harness.drained()
    thread = card_ts(harness)
    assert thread is not None
    assert [p for p in harness.slack.posts if not p.get("thread_ts")] == [harness.slack.posts[0]]
    notices = [p["text"] for p in harness.slack.replies(thread)]
    assert len(notices) == 1
    assert "10DLC" in notices[0]


async def test_undelivered_notice_waits_for_a_card_held_up_by_slack(harness: Harness) -> None:
    harness.slack.fail("chat.postMessage", status=500, times=3)
    await harness.missed_call()
    sent = await wait_until(lambda: harness.twilio.messages_to(CALLER), message="no text")
    assert harness.slack.posts == []  # the card is still retrying
    # Twilio calls back only after its API answered our send; wait until the worker saw that answer.
    await wait_until(lambda: harness.services.markers.sent_text(sent[0]["sid"]))

    response = await harness.twilio_post(
        "/twilio/sms/status",
        {"MessageSid": sent[0]["sid"], "MessageStatus": "undelivered", "ErrorCode": "30003"},
    )

    assert response.status == 204
    await wait_until(lambda: len(harness.slack.posts) >= 2, timeout=8, message="no notice")
    await harness.drained()
    thread = card_ts(harness)
    assert thread is not None
    assert [p for p in harness.slack.posts if not p.get("thread_ts")] == [harness.slack.posts[0]]
    notices = [p["text"] for p in harness.slack.replies(thread)]
    assert len(notices) == 1
    assert "off or unreachable" in notices[0]


# --- redelivery and crashes --------------------------------------------------------------------


async def test_an_sms_job_delivered_twice_sends_one_text(harness: Harness) -> None:
    job = sms_job("test:twice", "Only once please")

    await harness.services.outbox.enqueue([job])
    await harness.services.outbox.enqueue([job])

    await wait_until(lambda: harness.twilio.messages, message="text never sent")
    await harness.drained()
    assert [m["Body"] for m in harness.twilio.messages] == ["Only once please"]


async def test_an_sms_job_left_running_by_a_dead_worker_is_not_sent_again(
    harness: Harness,
) -> None:
    job = sms_job("test:crashed", "Maybe already sent")
    # What a worker killed mid-send leaves behind: the marker taken, no outcome recorded.
    assert await harness.services.markers.start_sms(CALLER, LINE, job.id, True) == "go"

    await harness.services.outbox.enqueue([job, sms_job("test:after", "Control")])

    await wait_until(lambda: harness.twilio.messages, message="control text never sent")
    await harness.drained()
    assert [m["Body"] for m in harness.twilio.messages] == ["Control"]


async def test_a_text_whose_worker_died_mid_send_is_flagged_in_slack_not_sent_again(
    harness: Harness,
) -> None:
    job = sms_job("test:uncertain", "Maybe already sent")
    assert await harness.services.markers.start_sms(CALLER, LINE, job.id, True) == "go"

    await perform(harness.services, job, reclaimed=True)  # as the next worker takes it over

    await wait_until(lambda: harness.slack.posts, message="no notice posted")
    assert harness.twilio.messages == []
    assert "may not have reached the caller" in harness.slack.posts[0]["text"]


@pytest.mark.settings(run_worker=False)
async def test_a_job_taken_by_a_worker_that_died_is_done_by_another(harness: Harness) -> None:
    outbox = harness.services.outbox
    await outbox.ensure_groups()
    await outbox.enqueue([sms_job("test:orphan", "Taken over")])
    # A worker that read the job and died before acknowledging it.
    taken = await outbox.read("sms", "dead-worker", count=10, block_ms=50)
    assert [d.job.id for d in taken if d.job] == ["test:orphan"]

    survivor = Worker(harness.services, reclaim_idle_ms=100)
    task = asyncio.create_task(survivor.run())
    try:
        await wait_until(lambda: harness.twilio.messages, message="orphaned job never done")
        await harness.drained()
    finally:
        await survivor.shutdown(task)
    assert [m["Body"] for m in harness.twilio.messages] == ["Taken over"]


async def test_a_slack_post_job_delivered_twice_posts_once(harness: Harness) -> None:
    card = card_job("test:card", "lead-twice", "A card")
    notice = notice_job("test:notice", "A notice")

    await harness.services.outbox.enqueue([card, notice])
    await harness.services.outbox.enqueue([card, notice])

    await wait_until(lambda: len(harness.slack.posts) >= 2, message="posts never made")
    await harness.drained()
    assert sorted(p["text"] for p in harness.slack.posts) == ["A card", "A notice"]


async def test_a_post_whose_worker_died_holding_its_lease_is_posted_when_reclaimed(
    harness: Harness,
) -> None:
    card = card_job("test:dead-card", "lead-dead", "A card")
    place = lead("lead-dead").at(1)
    # What a worker killed mid-post leaves: the lease taken, nothing recorded.
    start = await harness.services.threads.start_post(place, card, 60)
    assert start.state == "run"

    await perform(harness.services, card, reclaimed=True)

    assert [p["text"] for p in harness.slack.posts] == ["A card"]
    again = await harness.services.threads.start_post(place, card, 60)
    assert again.state == "done"


async def test_a_post_held_by_a_live_delivery_is_looked_at_again_not_dropped(
    harness: Harness,
) -> None:
    card = card_job("test:busy-card", "lead-busy", "A card")
    notice = notice_job("test:busy-notice", "A notice")
    await harness.services.threads.start_post(lead("lead-busy").at(1), card, 60)
    assert await harness.services.markers.begin(notice.id, lease_seconds=60) is None

    for job in (card, notice):
        with pytest.raises(Retry) as retry:
            await perform(harness.services, job)
        assert retry.value.after is not None and 0 < retry.value.after <= 2
    assert harness.slack.posts == []


@pytest.mark.settings(WORKER_RECLAIM_SECONDS=1)
async def test_a_slow_post_is_not_taken_over_by_another_live_worker(harness: Harness) -> None:
    harness.slack.latency = 2.5  # the post outlasts the reclaim time more than twice
    second = Worker(harness.services)
    running = asyncio.create_task(second.run())
    try:
        await harness.services.outbox.enqueue([notice_job("test:slow", "Slow")])
        await wait_until(lambda: harness.slack.posts, timeout=10, message="never posted")
        await harness.drained(timeout=15)
    finally:
        await second.shutdown(running)
    assert [p["text"] for p in harness.slack.posts] == ["Slow"]


async def test_a_post_parked_behind_one_whose_worker_died_after_posting_is_handed_on(
    harness: Harness,
) -> None:
    store = harness.services.threads
    card = card_job("test:h-card", "lead-h", "Card")
    reply = reply_job("test:h-reply", "lead-h", "Hi")
    first, second = lead("lead-h").at(1), lead("lead-h").at(2)
    assert (await store.start_post(first, card, 60)).state == "run"
    assert (await store.start_post(second, reply, 60)).state == "parked"
    # The worker recorded the card, then died before queueing the reply parked behind it.
    posted = PostedCard(channel=CHANNEL, ts="1.000100", rendered=0)
    await store.finish_post(first, card.id, "done", posted)

    await perform(harness.services, card, reclaimed=True)  # the next worker takes the card over

    await wait_until(lambda: harness.slack.posts, message="the parked reply was never posted")
    assert [(p["text"], p.get("thread_ts")) for p in harness.slack.posts] == [("Hi", "1.000100")]


async def test_a_reclaimed_post_leaves_no_release_timer_its_dead_worker_did_not_cancel(
    harness: Harness,
) -> None:
    store, outbox = harness.services.threads, harness.services.outbox
    card = card_job("test:t-card", "lead-t", "Card")
    reply = reply_job("test:t-reply", "lead-t", "Hi")
    first, second = lead("lead-t").at(1), lead("lead-t").at(2)
    assert (await store.start_post(second, reply, 60)).state == "parked"
    release = release_timer(second)
    await outbox.retry_later(release, harness.clock() + 600)
    await store.start_post(first, card, 60)
    posted = PostedCard(channel=CHANNEL, ts="1.000200", rendered=0)
    await store.finish_post(first, card.id, "done", posted)
    # A worker took the reply's turn (unparking it) and died before cancelling its timer.
    assert (await store.start_post(second, reply, 60)).was_parked

    await perform(harness.services, reply, reclaimed=True)

    await harness.drained()  # no release timer left waiting ten minutes
    assert [p["text"] for p in harness.slack.posts] == ["Hi"]


async def test_unreadable_stream_entry_is_buried_and_later_jobs_still_run(
    harness: Harness,
) -> None:
    keys = harness.services.keys
    await harness.services.redis.xadd(keys.stream("slack"), {"job": "not json"})

    await harness.missed_call()

    await wait_until(lambda: harness.slack.posts, message="card never posted")
    await harness.drained()
    assert len(harness.slack.posts) == 1
    (dead,) = await harness.services.outbox.dead()
    assert (dead.raw, dead.kind, dead.reason) == ("not json", "unreadable", "unreadable job")


# --- operations --------------------------------------------------------------------------------


@pytest.mark.settings(METRICS_TOKEN="scrape")
async def test_metrics_count_missed_calls_and_texts_sent(harness: Harness) -> None:
    await harness.missed_call()
    await wait_until(lambda: harness.twilio.messages, message="text never sent")
    await harness.drained()

    response = await harness.client.get("/metrics", headers={"Authorization": "Bearer scrape"})

    assert response.status == 200
    text = await response.text()
    assert re.search(r'^textback_missed_calls_total{line="default"} 1\.0$', text, re.M)
    assert re.search(r'^textback_sms_sent_total\{purpose="auto-text \(\w+\)"\} 1\.0$', text, re.M)


async def test_healthz_answers_when_redis_does(harness: Harness) -> None:
    response = await harness.client.get("/healthz")

    assert response.status == 200
    assert (await response.json())["ok"] is True


@pytest.mark.settings(SLACK_POSTS_PER_SECOND=4)
async def test_posts_to_one_channel_are_paced_under_slacks_limit(harness: Harness) -> None:
    harness.slack.rate_limit_per_channel = 4  # strict: no bursts at all
    callers = [f"+120255501{n:02d}" for n in range(40, 46)]
    for caller in callers:
        await harness.caller_text("Need a quote", caller=caller)
    await wait_until(lambda: len(harness.slack.posts) == 2 * len(callers), timeout=10)
    await harness.drained()
    assert harness.slack.rate_limited == 0
    assert len(harness.slack.posts) == 12


@pytest.mark.settings(SLACK_POSTS_PER_SECOND=2, WORKER_CONCURRENCY=4)
async def test_a_backlog_in_one_channel_does_not_hold_up_another_channels_posts(
    harness: Harness,
) -> None:
    harness.slack.rate_limit_per_channel = 2  # strict: no bursts at all
    busy = [notice_job(f"test:busy-{n}", f"Busy {n}") for n in range(12)]
    await harness.services.outbox.enqueue(busy)
    await harness.services.outbox.enqueue([notice_job("test:other", "Other", "C0OTHER")])

    other = await wait_until(
        lambda: [p for p in harness.slack.posts if p["channel"] == "C0OTHER"],
        timeout=10,
        message="the other channel's post waited behind the busy one",
    )

    assert other[0]["text"] == "Other"
    # Posted while most of the busy channel's posts still wait for their turns (sleeping in
    # the worker's 4 slots, they held it until about 8 had gone).
    assert len([p for p in harness.slack.posts if p["channel"] == CHANNEL]) <= 4
    await wait_until(lambda: len(harness.slack.posts) == 13, timeout=15, message="posts lost")
    await harness.drained()
    assert harness.slack.rate_limited == 0
    assert sorted(p["text"] for p in harness.slack.posts) == sorted(
        [f"Busy {n}" for n in range(12)] + ["Other"]
    )


async def test_a_429_holds_every_workers_posts_to_the_channel(harness: Harness) -> None:
    pacing, now = harness.services.pacing, harness.clock()
    assert await pacing.turn(CHANNEL, now, per_second=50) == 0
    await pacing.hold(CHANNEL, now + 1.0, 1.0)  # what a worker does on 429, Retry-After 1
    assert await pacing.turn(CHANNEL, now, per_second=50) >= 0.99  # any worker's next post waits
    assert await pacing.turn("C0OTHER", now, per_second=50) == 0  # other channels don't


async def test_posts_after_a_429_still_all_arrive_once(harness: Harness) -> None:
    harness.slack.fail("chat.postMessage", status=429, retry_after=1, times=1)
    for caller in ("+12025550150", "+12025550151", "+12025550152"):
        await harness.caller_text("Need a quote", caller=caller)
    await wait_until(lambda: len(harness.slack.posts) == 6, timeout=15)
    await harness.drained()
    assert len(harness.slack.posts) == 6
