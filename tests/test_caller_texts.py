"""Texts from callers end to end: relayed into the lead's Slack thread, STOP/START/HELP honoured.

Everything goes through the signed POST /twilio/sms webhook; what a user would see is read off
the Slack and Twilio stand-ins after the outbox has drained.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import BUSINESS_NUMBER, CALLER, CHANNEL, Harness, cards, new_sid, thread

DAY = 86_400
OPT_OUT_NOTE = "Caller opted out"


# --- helpers ---------------------------------------------------------------------------------


async def only_card(harness: Harness) -> dict[str, Any]:
    await harness.drained()
    found = cards(harness)
    assert len(found) == 1, [c["text"] for c in found]
    return found[0]


async def texts_to_caller(harness: Harness) -> list[dict[str, Any]]:
    await harness.drained()
    return harness.twilio.messages_to(CALLER)


# --- relaying into Slack ---------------------------------------------------------------------


async def test_text_from_a_caller_with_a_lead_lands_quoted_in_that_lead_thread(
    harness: Harness,
) -> None:
    await harness.missed_call()
    card = await only_card(harness)
    response = await harness.caller_text("Need an outlet fixed\nkitchen, tomorrow?")
    assert response.status == 200
    assert response.content_type == "text/xml"
    assert await response.text() == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    assert (await only_card(harness))["ts"] == card["ts"]
    (message,) = thread(harness, card["ts"])
    assert ">Need an outlet fixed\n>kitchen, tomorrow?" in message
    assert "Caller" in message
    # Only the auto-text went to the caller: a message gets no automatic answer.
    assert len(await texts_to_caller(harness)) == 1


async def test_text_from_an_unknown_number_opens_a_new_card_then_the_message(
    harness: Harness,
) -> None:
    response = await harness.caller_text("Do you do panel upgrades?")
    assert response.status == 200
    await harness.drained()
    card_post, message_post = harness.slack.posts
    assert not card_post.get("thread_ts")
    assert "New text" in card_post["text"]
    assert "(202) 555-0123" in card_post["text"]
    (card,) = cards(harness)
    assert message_post["thread_ts"] == card["ts"]
    assert ">Do you do panel upgrades?" in message_post["text"]
    assert harness.twilio.messages == []


async def test_a_second_text_goes_to_the_same_thread(harness: Harness) -> None:
    await harness.caller_text("first")
    await harness.drained()
    await harness.caller_text("second")
    card = await only_card(harness)
    messages = thread(harness, card["ts"])
    assert len(messages) == 2
    assert ">first" in messages[0]
    assert ">second" in messages[1]


async def test_text_after_the_lead_went_quiet_opens_a_new_card(harness: Harness) -> None:
    await harness.caller_text("first")
    await harness.drained()
    harness.clock.advance(15 * DAY)
    await harness.caller_text("months later")
    await harness.drained()
    first, second = cards(harness)
    assert ">first" in thread(harness, first["ts"])[0]
    assert ">months later" in thread(harness, second["ts"])[0]


async def test_caller_text_cannot_ping_the_channel_or_forge_links(harness: Harness) -> None:
    await harness.caller_text("<!channel> hi <@U123> <https://evil.example|bank> & more")
    card = await only_card(harness)
    (message,) = thread(harness, card["ts"])
    assert "&lt;!channel&gt; hi &lt;@U123&gt; &lt;https://evil.example|bank&gt; &amp; more" in (
        message
    )
    assert "<!channel>" not in message
    assert "<@U123>" not in message
    assert "<https://evil" not in message


async def test_a_full_1600_character_text_is_posted_whole(harness: Harness) -> None:
    body = ("Panel buzzing, breaker trips when the dryer runs. " * 40)[:1600]
    assert len(body) == 1600
    await harness.caller_text(body)
    card = await only_card(harness)
    (message,) = thread(harness, card["ts"])
    assert ">" + body in message
    assert "(truncated)" not in message


async def test_an_overlong_text_is_cut_in_slack(harness: Harness) -> None:
    body = "a" * 3000 + "b" * 500
    await harness.caller_text(body)
    card = await only_card(harness)
    (message,) = thread(harness, card["ts"])
    assert "a" * 3000 in message
    assert "b" not in message.split("*Caller:*", 1)[1]
    assert "…(truncated)" in message


async def test_photo_from_caller_is_uploaded_into_the_thread(harness: Harness) -> None:
    photo = b"\xff\xd8jpegbytes"
    url = harness.twilio.add_media("p1", photo, "image/jpeg")
    await harness.caller_text(
        "here's the panel", NumMedia="1", MediaUrl0=url, MediaContentType0="image/jpeg"
    )
    card = await only_card(harness)
    (upload,) = harness.slack.uploads
    assert upload.data == photo
    assert upload.thread_ts == card["ts"]
    assert upload.channel_id == CHANNEL
    assert harness.twilio.media_fetches == ["p1"]  # fetched with the account's basic auth
    (message,) = thread(harness, card["ts"])
    assert ">here's the panel" in message
    # The words come before the photo in the thread.
    methods = [c.method for c in harness.slack.calls if not c.failed]
    last_post = max(i for i, m in enumerate(methods) if m == "chat.postMessage")
    assert last_post < methods.index("files.completeUploadExternal")


async def test_photo_without_words_is_still_relayed(harness: Harness) -> None:
    url = harness.twilio.add_media("p2", b"\x89PNGbytes", "image/png")
    await harness.caller_text("", NumMedia="1", MediaUrl0=url, MediaContentType0="image/png")
    card = await only_card(harness)
    (message,) = thread(harness, card["ts"])
    assert "(no text)" in message
    (upload,) = harness.slack.uploads
    assert upload.data == b"\x89PNGbytes"
    assert upload.thread_ts == card["ts"]


async def test_same_message_delivered_three_times_at_once_posts_once(harness: Harness) -> None:
    sid = new_sid("SM")
    responses = await asyncio.gather(
        *(harness.caller_text("is anyone there?", message_sid=sid) for _ in range(3))
    )
    assert all(r.status == 200 for r in responses)
    card = await only_card(harness)
    assert len(harness.slack.posts) == 2
    (message,) = thread(harness, card["ts"])
    assert ">is anyone there?" in message


@pytest.mark.parametrize("from_", ["anonymous", ""])
async def test_text_without_a_usable_sender_is_acknowledged_and_dropped(
    harness: Harness, from_: str
) -> None:
    response = await harness.caller_text("hello", caller=from_)
    assert response.status == 200
    await harness.drained()
    assert harness.slack.posts == []
    assert harness.twilio.messages == []


@pytest.mark.parametrize("missing", ["MessageSid", "To"])
async def test_text_missing_messagesid_or_to_is_a_bad_request(
    harness: Harness, missing: str
) -> None:
    params = {
        "MessageSid": new_sid("SM"),
        "From": CALLER,
        "To": BUSINESS_NUMBER,
        "Body": "hello",
        "NumMedia": "0",
    }
    del params[missing]
    response = await harness.twilio_post("/twilio/sms", params)
    assert response.status == 400
    await harness.drained()
    assert harness.slack.posts == []


async def test_forged_stop_is_refused_and_the_caller_still_gets_texted(
    harness: Harness,
) -> None:
    params = {
        "MessageSid": new_sid("SM"),
        "From": CALLER,
        "To": BUSINESS_NUMBER,
        "Body": "STOP",
        "NumMedia": "0",
    }
    response = await harness.twilio_post("/twilio/sms", params, signature="Zm9yZ2Vk")
    assert response.status == 403
    await harness.missed_call()
    assert len(await texts_to_caller(harness)) == 1


# --- STOP and friends ---------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["STOP", " stop. ", "Opt out", "unsubscribe", "QUIT!"])
async def test_stop_words_opt_the_caller_out(harness: Harness, body: str) -> None:
    await harness.caller_text(body)
    card = await only_card(harness)
    (message,) = thread(harness, card["ts"])
    assert OPT_OUT_NOTE in message
    # Twilio's own opt-out handling confirms on long codes: no second confirmation from us.
    assert harness.twilio.messages == []

    await harness.missed_call()
    assert await texts_to_caller(harness) == []
    assert (await only_card(harness))["ts"] == card["ts"]
    note = thread(harness, card["ts"])[-1]
    assert "Called again" in note
    assert "opted out" in note


async def test_stop_after_a_text_back_blocks_the_next_one(harness: Harness) -> None:
    await harness.missed_call()
    assert len(await texts_to_caller(harness)) == 1
    await harness.caller_text("STOP")
    await harness.drained()
    harness.clock.advance(2 * DAY)
    await harness.missed_call()
    assert len(await texts_to_caller(harness)) == 1
    card = await only_card(harness)
    assert "opted out" in thread(harness, card["ts"])[-1]


@pytest.mark.settings(OPT_OUT_CONFIRMATION="app")
async def test_in_app_confirmation_mode_stop_gets_exactly_one_confirmation(
    harness: Harness,
) -> None:
    await harness.caller_text("STOP")
    (confirmation,) = await texts_to_caller(harness)
    assert confirmation["From"] == BUSINESS_NUMBER
    assert "Johnson Electric" in confirmation["Body"]
    assert "no more" in confirmation["Body"]
    await harness.missed_call()
    assert len(await texts_to_caller(harness)) == 1


@pytest.mark.settings(OPT_OUT_CONFIRMATION="app")
async def test_when_twilio_already_answered_stop_we_never_reply(harness: Harness) -> None:
    await harness.caller_text("STOP", OptOutType="STOP")
    card = await only_card(harness)
    assert OPT_OUT_NOTE in thread(harness, card["ts"])[0]
    assert harness.twilio.messages == []
    await harness.missed_call()
    assert await texts_to_caller(harness) == []


async def test_please_stop_texting_me_is_relayed_not_an_opt_out(harness: Harness) -> None:
    await harness.caller_text("please stop texting me")
    card = await only_card(harness)
    # Relayed, then flagged for the crew (tests/test_consent.py covers the flag's button).
    message, flag = thread(harness, card["ts"])
    assert ">please stop texting me" in message
    assert OPT_OUT_NOTE not in message
    assert "reads like an opt-out" in flag
    assert harness.twilio.messages == []
    await harness.missed_call()
    assert len(await texts_to_caller(harness)) == 1


@pytest.mark.parametrize("body", ["START", "unstop", "Yes"])
async def test_start_words_opt_the_caller_back_in(harness: Harness, body: str) -> None:
    await harness.missed_call()
    await harness.drained()
    await harness.caller_text("STOP")
    await harness.drained()
    await harness.caller_text(body)
    await harness.drained()
    assert len(harness.twilio.messages_to(CALLER)) == 1  # Twilio confirms START itself
    harness.clock.advance(25 * 3600)
    await harness.missed_call()
    sent = await texts_to_caller(harness)
    assert len(sent) == 2
    assert sent[1]["Body"].startswith("Hi again")
    card = await only_card(harness)
    replies = thread(harness, card["ts"])
    assert any("opted back in" in r for r in replies)
    assert "Auto-text sent" in replies[-1]


@pytest.mark.settings(OPT_OUT_CONFIRMATION="app")
async def test_in_app_confirmation_mode_start_gets_one_confirmation(harness: Harness) -> None:
    await harness.caller_text("STOP")
    await harness.drained()
    await harness.caller_text("START")
    sent = await texts_to_caller(harness)
    assert len(sent) == 2
    assert "resubscribed" in sent[1]["Body"]


@pytest.mark.parametrize("body", ["HELP", "info", " Help? "])
async def test_help_gets_one_reply_naming_the_business_and_stop(
    harness: Harness, body: str
) -> None:
    await harness.caller_text(body)
    (reply,) = await texts_to_caller(harness)
    assert reply["From"] == BUSINESS_NUMBER
    assert "Johnson Electric" in reply["Body"]
    assert "STOP" in reply["Body"]
    card = await only_card(harness)
    (message,) = thread(harness, card["ts"])
    assert ">" + body in message
    assert "asked for HELP" in message


async def test_help_already_answered_by_twilio_gets_no_second_reply(harness: Harness) -> None:
    await harness.caller_text("HELP", OptOutType="HELP")
    assert await texts_to_caller(harness) == []
    card = await only_card(harness)
    assert ">HELP" in thread(harness, card["ts"])[0]


@pytest.mark.parametrize(
    "body", ["hi, can you come tuesday?", "thanks!", "yes please", "stop by at 3?"]
)
async def test_ordinary_text_gets_no_automatic_answer(harness: Harness, body: str) -> None:
    await harness.caller_text(body)
    assert await texts_to_caller(harness) == []
    card = await only_card(harness)
    assert ">" + body in thread(harness, card["ts"])[0]


@pytest.mark.settings(OPT_OUT_CONFIRMATION="app")
async def test_yes_from_a_caller_who_never_opted_out_is_just_a_reply(harness: Harness) -> None:
    await harness.missed_call()
    await harness.drained()
    await harness.caller_text("Yes")
    sent = await texts_to_caller(harness)
    assert len(sent) == 1  # the auto-text only: no "you are resubscribed" for answering "Yes"
    card = await only_card(harness)
    (message,) = thread(harness, card["ts"])
    assert ">Yes" in message
    assert "opted back in" not in message
