"""Nothing gives up silently: a job out of retries leaves a trace where the crew looks.

Retries are hours apart at the end (outbox/worker.py's backoff), so these tests move the
app's clock forward while the worker runs, instead of waiting hours.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import pytest

from tests.conftest import CALLER, Harness, card_ts, thread
from tests.lead_helpers import open_lead
from tests.waiting import wait_until

STEP = 301.0  # past the longest backoff (300 s): each look makes the next retry due


async def while_time_passes(
    harness: Harness, done: Callable[[], Awaitable[bool]], message: str
) -> None:
    """Move the clock on, a backoff at a time, until `done`."""

    async def check() -> bool:
        if await done():
            return True
        harness.clock.advance(STEP)
        return False

    await wait_until(check, timeout=60, interval=0.02, message=message)


async def buried(harness: Harness) -> bool:
    return bool(await harness.services.outbox.dead())


async def test_a_crew_reply_twilio_never_took_gets_a_warning_and_a_notice(harness: Harness) -> None:
    ts = await open_lead(harness)
    harness.twilio.fail_next(times=12, status=500)  # every attempt the worker makes
    reply_ts = f"{time.time():.6f}"

    await harness.crew_reply(ts, "We can come at 3", ts=reply_ts)
    await while_time_passes(harness, lambda: buried(harness), "the reply was never given up")
    await harness.drained()

    assert harness.twilio.messages_to(CALLER)[-1]["Body"] != "We can come at 3"
    (warning,) = [r for r in harness.slack.reactions if r["timestamp"] == reply_ts]
    assert warning["name"] == "warning"
    notices = [t for t in thread(harness, ts) if "Text not sent" in t]
    assert notices == [
        ":warning: Text not sent (crew reply): we tried 12 times and Twilio kept answering "
        "with an error (500)."
    ]
    (dead,) = await harness.services.outbox.dead()
    assert dead.kind == "sms.send" and "gave up after 12 attempts" in dead.reason
    assert await harness.services.outbox.given_up_counts() == {"sms.send": 1}


async def test_a_lead_card_slack_kept_failing_is_retried_as_a_card_and_its_thread_waits(
    harness: Harness,
) -> None:
    harness.slack.fail("chat.postMessage", status=500, times=60)  # every attempt of one job
    await harness.missed_call()
    await wait_until(lambda: harness.slack.calls_to("chat.postMessage", failed=True))
    await harness.caller_text("Still there?")  # parks behind the card

    async def card_posted() -> bool:
        return bool(harness.slack.posts)

    await while_time_passes(harness, card_posted, "the card was never posted")
    await harness.drained()

    card = card_ts(harness)
    assert card is not None
    assert [p.get("thread_ts") for p in harness.slack.posts] == [None, card]
    assert "Missed call" in harness.slack.posts[0]["text"]
    assert "Still there?" in thread(harness, card)[0]
    assert await harness.services.outbox.given_up_counts() == {"slack.post": 1}
    assert await harness.services.outbox.dead() == []  # retried, not buried


@pytest.mark.settings(REPLY_SLA_MINUTES=1_000_000)  # no reminder takes a failure of its own
async def test_a_callers_text_slack_never_took_comes_as_a_notice_carrying_it(
    harness: Harness,
) -> None:
    ts = await open_lead(harness)
    harness.slack.fail("chat.postMessage", status=500, times=60)

    await harness.caller_text("Is 3pm ok?")
    await while_time_passes(harness, lambda: buried(harness), "the post was never given up")
    await harness.caller_text("Hello?")  # the thread goes on after it
    await harness.drained()

    late, after = thread(harness, ts)
    assert late.startswith(":warning: This could not be posted in its place in the thread")
    assert "we tried 60 times and Slack kept answering with an error (500)" in late
    assert "Is 3pm ok?" in late
    assert "Hello?" in after
    assert len([p for p in harness.slack.posts if not p.get("thread_ts")]) == 1  # the card


async def test_a_post_slack_refuses_for_good_comes_as_a_notice_and_a_lost_photo_is_told(
    harness: Harness,
) -> None:
    ts = await open_lead(harness)
    harness.slack.fail("chat.postMessage", error="invalid_blocks")  # refused for good, once
    missing = f"{harness.twilio.origin}/media/never-stored"  # Twilio answers 404

    await harness.caller_text(
        "Here is the meter", NumMedia="1", MediaUrl0=missing, MediaContentType0="image/jpeg"
    )
    await harness.drained()

    notices = thread(harness, ts)
    assert any(
        n.startswith(":warning: This could not be posted in its place") and "Here is the meter" in n
        for n in notices
    )
    assert any(
        n.startswith(":warning: A photo from the caller could not be brought") for n in notices
    )
    assert harness.slack.uploads == []
