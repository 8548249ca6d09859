"""Slack refusing our posts for the business's wiring (a revoked token, the bot out of the
channel): jobs are held, not failed, checked every minute of the app's clock, delivered in
order once it works, and the owner is told by text."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from bot.domain.jobs import Job, Notice
from tests.conftest import BUSINESS_NUMBER, CHANNEL, Harness, card_ts, slash_command, thread
from tests.lead_helpers import open_lead
from tests.waiting import wait_until

OWNER = "+12025550177"
NEW_CALLER = "+12025550146"
MINUTE = 60.0


async def held(harness: Harness) -> dict[str, int]:
    return await harness.services.holds.counts()


async def minute_passes(harness: Harness) -> None:
    """Move the clock a minute on and wait for that minute's check of the wiring."""
    harness.clock.advance(MINUTE)
    redis, keys = harness.services.redis, harness.services.keys

    async def checked() -> bool:
        due = await redis.get(keys.wiring_check())
        return due is not None and float(due) > harness.clock() + MINUTE - 5

    await wait_until(checked, timeout=10, message="the minute's wiring check never ran")


def caller_lines(harness: Harness, ts: str) -> list[str]:
    """The caller's words in a thread, in order: "> text 1" lines of relayed texts."""
    return [m for text in thread(harness, ts) for m in re.findall(r"^>(.+)$", text, re.M)]


def owner_texts(harness: Harness) -> list[dict[str, Any]]:
    return harness.twilio.messages_to(OWNER)


@pytest.mark.settings(ALERT_PHONE=OWNER)
async def test_a_token_revoked_for_ten_minutes_holds_then_delivers_everything_in_order(
    harness: Harness,
) -> None:
    ts = await open_lead(harness)
    harness.slack.token_error = "token_revoked"

    await harness.caller_text("text 1")
    await wait_until(lambda: held(harness), message="the post was not held")
    await harness.caller_text("text 2")  # parks behind the held one
    sent: list[str] = ["text 1", "text 2"]
    for minute in range(1, 11):
        await minute_passes(harness)
        if minute in (3, 6, 9):  # callers keep texting while Slack refuses
            sent.append(f"text {len(sent) + 1}")
            await harness.caller_text(sent[-1])
        if minute == 4:
            await harness.caller_text("hello, new here", caller=NEW_CALLER)
    assert harness.slack.posts == [harness.slack.posts[0]]  # only the card from before
    attempts = len(harness.slack.calls_to("chat.postMessage", failed=True))

    harness.slack.token_error = None
    await minute_passes(harness)
    await wait_until(lambda: len(caller_lines(harness, ts)) == len(sent), timeout=15)
    await harness.drained(timeout=15)

    assert caller_lines(harness, ts) == sent  # every text, in the order the caller sent them
    assert attempts <= 2  # held jobs did not keep asking Slack: the minute's check did
    new_card = [p for p in harness.slack.posts if NEW_CALLER[-4:] in p["text"]]
    assert len(new_card) == 1 and not new_card[0].get("thread_ts")  # its card, as a card
    down, up = owner_texts(harness)
    assert down["Body"] == (
        "textback: Slack is refusing posts (token revoked). 2 caller texts waiting."
    )
    assert down["From"] == BUSINESS_NUMBER
    assert up["Body"].startswith("textback: Slack is taking posts again.")
    assert await held(harness) == {}


async def test_the_bot_removed_from_the_channel_holds_that_channel_only_and_logs_every_minute(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    ts = await open_lead(harness)
    harness.slack.add_channel(CHANNEL, member=False)  # someone removed the bot
    caplog.set_level(logging.ERROR)

    await harness.caller_text("are you there?")
    await wait_until(lambda: held(harness), message="the post was not held")
    other = Job("test:other-channel", Notice("C0OTHER", "Elsewhere"))
    await harness.services.outbox.enqueue([other])
    await wait_until(lambda: [p for p in harness.slack.posts if p["channel"] == "C0OTHER"])

    def alerts() -> list[str]:
        return [r.getMessage() for r in caplog.records if "Set ALERT_PHONE" in r.getMessage()]

    for minute in range(1, 4):
        await minute_passes(harness)
        # The check is claimed before Slack is asked; its log line follows the answer.
        await wait_until(lambda n=minute: len(alerts()) >= n, message="nothing logged this minute")
    errors = alerts()

    harness.slack.add_channel(CHANNEL, member=True)  # invited back
    await minute_passes(harness)
    await wait_until(lambda: caller_lines(harness, ts) == ["are you there?"], timeout=10)
    await harness.drained()

    assert len(errors) == 3  # one a minute
    assert errors[0].startswith(
        "textback: Slack is refusing posts (the bot is not in the channel, channel of "
        "Johnson Electric). 1 caller text waiting."
    )
    assert owner_texts(harness) == []
    assert card_ts(harness) == ts


@pytest.mark.settings(ALERT_PHONE=OWNER)
async def test_a_blip_shorter_than_a_minute_texts_nobody(harness: Harness) -> None:
    ts = await open_lead(harness)
    harness.slack.token_error = "invalid_auth"
    await harness.caller_text("one")
    await wait_until(lambda: held(harness), message="the post was not held")

    harness.slack.token_error = None
    await minute_passes(harness)
    await wait_until(lambda: caller_lines(harness, ts) == ["one"], timeout=10)

    assert owner_texts(harness) == []  # no SMS for a blip: it was over at the first check


async def test_textback_status_says_what_slack_refuses_and_what_is_held(harness: Harness) -> None:
    await open_lead(harness)
    harness.slack.add_channel(CHANNEL, archived=True)
    await harness.caller_text("hello?")
    await wait_until(lambda: held(harness), message="the post was not held")

    answer = await (await slash_command(harness, "status")).text()

    assert f"Slack refuses our posts to <#{CHANNEL}> since" in answer
    # The caller's text, and the card's update to Replied.
    assert "(the channel is archived): 2 held, delivered once it is fixed." in answer
