"""A missed call: one text to the caller, one lead card in Slack."""

from __future__ import annotations

import asyncio

from tests.conftest import BUSINESS_NUMBER, CALLER, CHANNEL, Harness
from tests.waiting import wait_until


async def test_missed_call_texts_caller_from_business_number_and_posts_lead_card(
    harness: Harness,
) -> None:
    response = await harness.missed_call()
    assert response.status == 200
    assert "text you" in await response.text()

    sent = await wait_until(lambda: harness.twilio.messages_to(CALLER), message="no SMS sent")
    assert len(sent) == 1
    assert sent[0]["From"] == BUSINESS_NUMBER
    assert "Johnson Electric" in sent[0]["Body"]
    assert sent[0]["Body"].endswith("Reply STOP to opt out.")
    assert sent[0]["StatusCallback"] == "https://textback.example.test/twilio/sms/status"

    cards = await wait_until(lambda: harness.slack.posts, message="no lead card")
    assert cards[0]["channel"] == CHANNEL
    assert "(202) 555-0123" in cards[0]["text"]
    assert "Auto-text sent" in cards[0]["text"]
    assert not cards[0].get("thread_ts")


async def test_duplicate_callbacks_for_one_call_send_one_text(harness: Harness) -> None:
    call_sid = "CA" + "1" * 32
    responses = await asyncio.gather(
        *(harness.missed_call(call_sid=call_sid) for _ in range(4)),
        harness.twilio_post(
            "/twilio/voice/status",
            {
                "CallSid": call_sid,
                "From": CALLER,
                "To": BUSINESS_NUMBER,
                "Direction": "inbound",
                "CallStatus": "no-answer",
            },
        ),
    )
    assert all(r.status in (200, 204) for r in responses)
    await harness.drained()
    assert len(harness.twilio.messages_to(CALLER)) == 1
    assert len(harness.slack.posts) == 1
