"""Crew replies in a lead's Slack thread go to the caller by SMS, or the thread says why not."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import pytest

from tests.conftest import (
    BUSINESS_NUMBER,
    CALLER,
    CHANNEL,
    CREW_USER,
    SIGNING_SECRET,
    Harness,
    card_ts,
    new_sid,
)
from tests.signing import slack_headers
from tests.waiting import wait_until

_ts_counter = itertools.count(1)


def crew_ts() -> str:
    """A fresh Slack ts for a crew message, distinct from the stand-in's own (1700000000.*)."""
    return f"1800000000.{next(_ts_counter):06d}"


async def open_lead(harness: Harness) -> str:
    """A missed call, its auto-text sent and its card posted; returns the card's thread ts."""
    response = await harness.missed_call()
    assert response.status == 200
    thread = await wait_until(lambda: card_ts(harness), message="no lead card")
    await harness.drained()
    assert len(harness.twilio.messages_to(CALLER)) == 1  # the auto-text
    return thread


def reply_texts(harness: Harness) -> list[str]:
    """Bodies of SMS sent to the caller, the auto-text left out."""
    return [m["Body"] for m in harness.twilio.messages_to(CALLER)[1:]]


def reactions_on(harness: Harness, ts: str) -> list[str]:
    return [r["name"] for r in harness.slack.reactions if r.get("timestamp") == ts]


def thread_texts(harness: Harness, thread: str) -> list[str]:
    return [p["text"] for p in harness.slack.replies(thread)]


async def status_callback(
    harness: Harness, sid: str, status: str, error_code: str | None = None
) -> Any:
    params = {
        "MessageSid": sid,
        "MessageStatus": status,
        "AccountSid": harness.twilio.account_sid,
        "From": BUSINESS_NUMBER,
        "To": CALLER,
    }
    if error_code is not None:
        params["ErrorCode"] = error_code
    # Twilio calls back only after its API answered our send; wait until the worker saw that answer.
    await wait_until(lambda: harness.services.markers.sent_text(sid), message="send not recorded")
    return await harness.twilio_post("/twilio/sms/status", params)


def event_body(event: dict[str, Any], event_id: str) -> str:
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0TEAM",
            "api_app_id": "A0APP",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": event,
        }
    )


def crew_message(thread: str, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "channel": CHANNEL,
        "user": CREW_USER,
        "text": text,
        "ts": crew_ts(),
        "thread_ts": thread,
        **extra,
    }


# --- the relay ---------------------------------------------------------------------------------


async def test_crew_reply_is_texted_to_caller_as_plain_text_and_gets_a_check_mark(
    harness: Harness,
) -> None:
    thread = await open_lead(harness)
    ts = crew_ts()

    response = await harness.crew_reply(
        thread,
        "<@U0TEXTBACK> Sure &amp; thanks, book at <https://x.example|our site>",
        ts=ts,
    )
    assert response.status == 200

    sent = await wait_until(lambda: reply_texts(harness), message="crew reply not texted")
    reply = harness.twilio.messages_to(CALLER)[1]
    assert reply["From"] == BUSINESS_NUMBER
    assert sent == ["Sure & thanks, book at our site (https://x.example)"]

    reactions = await wait_until(
        lambda: harness.slack.reactions, message="no reaction on the crew message"
    )
    assert reactions == [{"channel": CHANNEL, "timestamp": ts, "name": "white_check_mark"}]


async def test_mentioning_the_bot_inside_a_crew_reply_leaves_no_double_space(
    harness: Harness,
) -> None:
    thread = await open_lead(harness)

    await harness.crew_reply(thread, "Thanks <@U0TEXTBACK> will call you at 3")

    sent = await wait_until(lambda: reply_texts(harness), message="crew reply not texted")
    assert sent == ["Thanks will call you at 3"]


async def test_thread_broadcast_reply_is_texted(harness: Harness) -> None:
    thread = await open_lead(harness)

    await harness.crew_reply(thread, "On our way", subtype="thread_broadcast")

    assert await wait_until(lambda: reply_texts(harness)) == ["On our way"]


IGNORED = {
    "internal_note": {"text": "// caller sounds upset, call back first"},
    "other_bot": {"bot_id": "B0OTHER", "text": "I am a bot"},
    "bot_message": {"subtype": "bot_message", "text": "a bot speaks"},
    "message_changed": {"subtype": "message_changed", "text": "edited text"},
    "message_deleted": {"subtype": "message_deleted", "text": "deleted text"},
    "channel_join": {"subtype": "channel_join", "text": "<@U0NEW> has joined the channel"},
}


@pytest.mark.parametrize("variant", IGNORED.values(), ids=IGNORED.keys())
async def test_notes_bots_edits_and_system_messages_in_a_thread_are_not_texted(
    harness: Harness, variant: dict[str, Any]
) -> None:
    thread = await open_lead(harness)

    response = await harness.slack_event(crew_message(thread, **variant))
    assert response.status == 200
    # A real reply afterwards proves the worker was running when the ignored one came in.
    await harness.crew_reply(thread, "Real answer")
    await wait_until(lambda: reply_texts(harness), message="control reply not texted")
    await harness.drained()

    assert reply_texts(harness) == ["Real answer"]


async def test_top_level_channel_messages_are_not_texted(harness: Harness) -> None:
    thread = await open_lead(harness)
    no_thread = crew_message(thread, "morning all")
    del no_thread["thread_ts"]
    parent = crew_message(thread, "new topic")
    parent["thread_ts"] = parent["ts"]

    for event in (no_thread, parent):
        assert (await harness.slack_event(event)).status == 200
    await harness.crew_reply(thread, "Real answer")
    await wait_until(lambda: reply_texts(harness), message="control reply not texted")
    await harness.drained()

    assert reply_texts(harness) == ["Real answer"]


async def test_reply_in_a_thread_that_is_not_a_lead_is_acknowledged_and_not_texted(
    harness: Harness,
) -> None:
    thread = await open_lead(harness)

    response = await harness.crew_reply("1700000000.999999", "lunch?")
    assert response.status == 200
    await harness.crew_reply(thread, "Real answer")
    await wait_until(lambda: reply_texts(harness), message="control reply not texted")
    await harness.drained()

    assert reply_texts(harness) == ["Real answer"]
    assert [r["name"] for r in harness.slack.reactions] == ["white_check_mark"]


# --- opt-out -----------------------------------------------------------------------------------


async def test_stop_before_a_thread_reply_holds_the_reply_and_says_why(harness: Harness) -> None:
    thread = await open_lead(harness)
    assert (await harness.caller_text("STOP")).status == 200
    await harness.drained()
    ts = crew_ts()

    assert (await harness.crew_reply(thread, "Can we come Tuesday?", ts=ts)).status == 200

    await wait_until(lambda: reactions_on(harness, ts), message="no reaction on held reply")
    await harness.drained()
    assert reply_texts(harness) == []
    assert reactions_on(harness, ts) == ["warning"]
    assert any("opted out" in text for text in thread_texts(harness, thread))


# --- Slack delivery quirks ---------------------------------------------------------------------


async def test_slack_retries_of_one_event_send_one_text(harness: Harness) -> None:
    thread = await open_lead(harness)
    event = crew_message(thread, "Be there at 5")
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    event_id = new_sid("Ev")

    concurrent = await asyncio.gather(
        harness.slack_event(event, event_id=event_id),
        *(harness.slack_event(event, event_id=event_id, headers=retry) for _ in range(3)),
    )
    await wait_until(lambda: reply_texts(harness), message="reply not texted")
    await harness.drained()
    later = await harness.slack_event(
        event, event_id=event_id, headers={**retry, "X-Slack-Retry-Num": "2"}
    )
    await harness.drained()

    assert [r.status for r in concurrent] == [200] * 4
    assert later.status == 200
    assert reply_texts(harness) == ["Be there at 5"]
    assert len([a for a in harness.twilio.attempts if a.get("Body") == "Be there at 5"]) == 1


OTHER_EVENTS = {
    "reaction_added": {
        "type": "reaction_added",
        "user": CREW_USER,
        "reaction": "thumbsup",
        "item": {"type": "message", "channel": CHANNEL, "ts": "THREAD"},
        "event_ts": "1800000001.000100",
    },
    "app_mention": {
        "type": "app_mention",
        "user": CREW_USER,
        "text": "<@U0TEXTBACK> what's up",
        "channel": CHANNEL,
        "ts": "1800000001.000200",
        "thread_ts": "THREAD",
    },
    "unknown": {"type": "brand_new_event_type", "user": CREW_USER, "channel": CHANNEL},
}


@pytest.mark.parametrize("name", OTHER_EVENTS.keys())
async def test_other_event_types_are_acknowledged_and_send_nothing(
    harness: Harness, name: str
) -> None:
    thread = await open_lead(harness)
    event = json.loads(json.dumps(OTHER_EVENTS[name]).replace("THREAD", thread))
    posts_before = len(harness.slack.posts)

    response = await harness.slack_event(event)
    await harness.drained()

    assert response.status == 200
    assert reply_texts(harness) == []
    assert len(harness.slack.posts) == posts_before
    assert harness.slack.reactions == []


async def test_forged_slack_signature_is_rejected_and_does_not_use_up_the_event_id(
    harness: Harness,
) -> None:
    thread = await open_lead(harness)
    event = crew_message(thread, "Forged")
    event_id = new_sid("Ev")

    forged = await harness.slack_event(
        event, event_id=event_id, headers={"X-Slack-Signature": "v0=" + "0" * 64}
    )
    await harness.drained()
    assert forged.status == 401
    assert reply_texts(harness) == []

    # The genuine delivery of that same event still goes through.
    genuine = await harness.slack_event(event, event_id=event_id)
    assert genuine.status == 200
    assert await wait_until(lambda: reply_texts(harness)) == ["Forged"]


async def test_stale_slack_timestamp_is_rejected(harness: Harness) -> None:
    thread = await open_lead(harness)
    body = event_body(crew_message(thread, "Replayed"), new_sid("Ev"))
    headers = slack_headers(SIGNING_SECRET, body, timestamp=int(time.time()) - 600)

    response = await harness.client.post(
        "/slack/events", data=body, headers={"Content-Type": "application/json", **headers}
    )
    await harness.drained()

    assert response.status == 401
    assert reply_texts(harness) == []


# --- Twilio refuses or fails to deliver --------------------------------------------------------


async def test_invalid_number_error_is_not_retried_and_is_explained_in_the_thread(
    harness: Harness,
) -> None:
    thread = await open_lead(harness)
    harness.twilio.fail_for_number(
        CALLER, code=21211, status=400, message="The 'To' number is not a valid phone number."
    )
    ts = crew_ts()

    await harness.crew_reply(thread, "See you soon", ts=ts)

    await wait_until(lambda: reactions_on(harness, ts), message="no reaction on failed reply")
    await harness.drained()
    attempts = [a for a in harness.twilio.attempts if a.get("Body") == "See you soon"]
    assert len(attempts) == 1
    assert reply_texts(harness) == []
    assert reactions_on(harness, ts) == ["warning"]
    notices = [t for t in thread_texts(harness, thread) if "not a valid phone number" in t]
    assert len(notices) == 1
    assert "21211" in notices[0]


async def test_undelivered_status_of_a_crew_reply_is_explained_in_the_thread(
    harness: Harness,
) -> None:
    thread = await open_lead(harness)
    ts = crew_ts()
    await harness.crew_reply(thread, "Arriving at 2", ts=ts)
    await wait_until(lambda: reactions_on(harness, ts), message="reply not sent")
    sid = harness.twilio.messages_to(CALLER)[1]["sid"]

    response = await status_callback(harness, sid, "undelivered", "30003")

    assert response.status in (200, 204)
    notice = await wait_until(
        lambda: [t for t in thread_texts(harness, thread) if "off or unreachable" in t],
        message="no undelivered notice in the thread",
    )
    assert len(notice) == 1
    await harness.drained()
    assert sorted(reactions_on(harness, ts)) == ["warning", "white_check_mark"]


async def test_opted_out_status_of_the_auto_text_holds_later_replies(harness: Harness) -> None:
    thread = await open_lead(harness)
    sid = harness.twilio.messages_to(CALLER)[0]["sid"]

    response = await status_callback(harness, sid, "undelivered", "21610")
    assert response.status in (200, 204)
    await harness.drained()
    ts = crew_ts()
    await harness.crew_reply(thread, "Hello?", ts=ts)

    await wait_until(lambda: reactions_on(harness, ts), message="no reaction on held reply")
    await harness.drained()
    assert reply_texts(harness) == []
    assert reactions_on(harness, ts) == ["warning"]
    texts = thread_texts(harness, thread)
    assert any("Text not delivered" in t and "21610" in t for t in texts)
    assert any("Not sent" in t and "opted out" in t for t in texts)


async def test_delivered_status_posts_nothing(harness: Harness) -> None:
    await open_lead(harness)
    sid = harness.twilio.messages_to(CALLER)[0]["sid"]
    posts_before = len(harness.slack.posts)

    for status in ("sent", "delivered"):
        response = await status_callback(harness, sid, status)
        assert response.status in (200, 204)
    await harness.drained()

    assert len(harness.slack.posts) == posts_before
    assert harness.slack.reactions == []


async def test_unsigned_status_callback_is_rejected(harness: Harness) -> None:
    await open_lead(harness)
    sid = harness.twilio.messages_to(CALLER)[0]["sid"]
    posts_before = len(harness.slack.posts)

    response = await harness.twilio_post(
        "/twilio/sms/status",
        {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "21610"},
        signature="forged",
    )
    await harness.drained()

    assert response.status == 403
    assert len(harness.slack.posts) == posts_before
    assert not await harness.services.callers.is_opted_out(CALLER, "default")


PHOTO = {"id": "F0PHOTO", "name": "sink.jpg", "mimetype": "image/jpeg"}


async def test_a_photo_alone_is_not_texted_and_the_thread_says_so(harness: Harness) -> None:
    thread = await open_lead(harness)
    ts = crew_ts()

    response = await harness.crew_reply(
        thread, "", ts=ts, subtype="file_share", files=[PHOTO], upload=False
    )

    assert response.status == 200
    notes = await wait_until(
        lambda: [t for t in thread_texts(harness, thread) if "can't be texted" in t],
        message="no notice that the photo was not sent",
    )
    await harness.drained()
    assert notes[0].startswith(":paperclip: Not sent")
    assert reply_texts(harness) == []
    assert reactions_on(harness, ts) == []


async def test_words_with_a_photo_go_out_and_the_thread_says_the_photo_did_not(
    harness: Harness,
) -> None:
    thread = await open_lead(harness)

    await harness.crew_reply(thread, "Is this the valve?", subtype="file_share", files=[PHOTO])

    notes = await wait_until(
        lambda: [t for t in thread_texts(harness, thread) if "can't be texted" in t],
        message="no notice that the photo was not sent",
    )
    await wait_until(lambda: reply_texts(harness), message="the words were not texted")
    assert reply_texts(harness) == ["Is this the valve?"]
    assert "the photo or file did not" in notes[0]
