"""Texts from callers end to end: relayed into the lead's Slack thread, STOP/START/HELP honoured.

Everything goes through the signed POST /twilio/sms webhook; what a user would see is read off
the Slack and Twilio stand-ins after the outbox has drained.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.simulators.twilio_messages import DEFAULT_REPLIES
from tests.conftest import BUSINESS_NUMBER, CALLER, CHANNEL, Harness, cards, new_sid, thread
from tests.lead_helpers import state_line
from tests.waiting import wait_until

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


async def test_a_large_photo_reaches_the_thread_whole(harness: Harness) -> None:
    photo = b"\xff\xd8" + bytes(range(256)) * 2_000  # half a megabyte: many network reads
    url = harness.twilio.add_media("big", photo, "image/jpeg")
    await harness.caller_text("panel", NumMedia="1", MediaUrl0=url, MediaContentType0="image/jpeg")
    await only_card(harness)
    (upload,) = harness.slack.uploads
    assert upload.data == photo


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
# Through the Twilio simulator's text_in: Twilio's default keyword handling on a long code answers
# STOP/START/HELP itself (its replies land in `twilio.auto_replies`, by="twilio") and sends the
# text on to us without OptOutType. Our own sends are `twilio.messages`.


def replies_to_caller(harness: Harness) -> list[str]:
    """Every text the caller got after texting in: Twilio's own answers, then ours."""
    twilio_own = [r["Body"] for r in harness.twilio.auto_replies if r["To"] == CALLER]
    return twilio_own + [m["Body"] for m in harness.twilio.messages_to(CALLER)]


async def lead_of(harness: Harness) -> tuple[str, str]:
    """(lead id, card state line) of the caller's current lead."""
    record = await harness.services.callers.caller(CALLER, "default")
    card = await only_card(harness)
    return record["lead_id"], state_line(harness, card["ts"])


@pytest.mark.parametrize("body", ["STOP", " stop. ", "Opt out", "unsubscribe", "QUIT!"])
async def test_stop_words_opt_the_caller_out(live: Harness, body: str) -> None:
    await live.twilio.text_in(CALLER, BUSINESS_NUMBER, body)
    card = await only_card(live)
    (message,) = thread(live, card["ts"])
    assert OPT_OUT_NOTE in message
    # Twilio's own opt-out handling confirms on long codes: no second confirmation from us.
    assert live.twilio.messages == []

    await live.missed_call()
    assert await texts_to_caller(live) == []
    assert (await only_card(live))["ts"] == card["ts"]
    note = thread(live, card["ts"])[-1]
    assert "Called again" in note
    assert "opted out" in note


async def test_stop_after_a_text_back_blocks_the_next_one(live: Harness) -> None:
    await live.missed_call()
    assert len(await texts_to_caller(live)) == 1
    await live.twilio.text_in(CALLER, BUSINESS_NUMBER, "STOP")
    await live.drained()
    live.clock.advance(2 * DAY)
    await live.missed_call()
    assert len(await texts_to_caller(live)) == 1
    card = await only_card(live)
    assert "opted out" in thread(live, card["ts"])[-1]


async def test_stop_shows_opted_out_on_the_card_not_replied(live: Harness) -> None:
    await live.missed_call()
    await live.drained()
    await live.twilio.text_in(CALLER, BUSINESS_NUMBER, "STOP")
    card = await only_card(live)
    shown = await wait_until(
        lambda: "Opted out" in state_line(live, card["ts"]) and state_line(live, card["ts"]),
        message="the card never showed Opted out",
    )
    assert "Replied" not in shown
    lead_id, _ = await lead_of(live)
    assert await live.services.leads.waiting_since(CALLER, lead_id) is None
    (day,) = await live.services.stats.days("default", [today(live)])
    assert day[0].get("replied", 0) == 0


async def test_start_after_stop_puts_the_card_back_where_it_was(live: Harness) -> None:
    await live.missed_call()
    await live.drained()
    card = await only_card(live)
    await live.twilio.text_in(CALLER, BUSINESS_NUMBER, "STOP")
    await wait_until(lambda: "Opted out" in state_line(live, card["ts"]), message="no Opted out")
    await live.twilio.text_in(CALLER, BUSINESS_NUMBER, "START")
    await wait_until(
        lambda: "Texted" in state_line(live, card["ts"]), message="card not back to Texted"
    )
    assert not await live.services.callers.is_opted_out(CALLER, "default")


@pytest.mark.settings(OPT_OUT_CONFIRMATION="app")
async def test_in_app_confirmation_mode_stop_gets_exactly_one_confirmation(
    harness: Harness,
) -> None:
    # A number whose keyword handling Twilio does not do (the app confirms): the webhook as
    # Twilio would send it, with no auto-reply in front.
    await harness.caller_text("STOP")
    (confirmation,) = await texts_to_caller(harness)
    assert confirmation["From"] == BUSINESS_NUMBER
    assert "Johnson Electric" in confirmation["Body"]
    assert "no more" in confirmation["Body"]
    await harness.missed_call()
    assert len(await texts_to_caller(harness)) == 1


@pytest.mark.settings(OPT_OUT_CONFIRMATION="app")
async def test_when_twilio_already_answered_stop_we_never_reply(live: Harness) -> None:
    live.twilio.numbers.use_advanced_opt_out(BUSINESS_NUMBER)  # Twilio then sends OptOutType
    await live.twilio.text_in(CALLER, BUSINESS_NUMBER, "STOP")
    card = await only_card(live)
    assert OPT_OUT_NOTE in thread(live, card["ts"])[0]
    assert live.twilio.messages == []
    assert len(replies_to_caller(live)) == 1  # Twilio's
    await live.missed_call()
    assert await texts_to_caller(live) == []


async def test_please_stop_texting_me_is_relayed_not_an_opt_out(live: Harness) -> None:
    await live.twilio.text_in(CALLER, BUSINESS_NUMBER, "please stop texting me")
    card = await only_card(live)
    # Relayed, then flagged for the crew (tests/test_consent.py covers the flag's button).
    message, flag = thread(live, card["ts"])
    assert ">please stop texting me" in message
    assert OPT_OUT_NOTE not in message
    assert "reads like an opt-out" in flag
    assert replies_to_caller(live) == []
    await live.missed_call()
    assert len(await texts_to_caller(live)) == 1


@pytest.mark.parametrize("body", ["START", "unstop", "Yes"])
async def test_start_words_opt_the_caller_back_in(live: Harness, body: str) -> None:
    await live.missed_call()
    await live.drained()
    await live.twilio.text_in(CALLER, BUSINESS_NUMBER, "STOP")
    await live.drained()
    await live.twilio.text_in(CALLER, BUSINESS_NUMBER, body)
    await live.drained()
    assert len(live.twilio.messages_to(CALLER)) == 1  # Twilio confirms START itself
    assert [r["keyword"] for r in live.twilio.auto_replies] == ["STOP", "START"]
    live.clock.advance(25 * 3600)
    await live.missed_call()
    sent = await texts_to_caller(live)
    assert len(sent) == 2
    assert sent[1]["Body"].startswith("Hi again")
    card = await only_card(live)
    replies = thread(live, card["ts"])
    assert any("opted back in" in r for r in replies)
    assert "Auto-text sent" in replies[-1]


@pytest.mark.parametrize("body", ["START", "unstop", "Yes", "yes!"])
async def test_start_words_from_a_caller_who_never_opted_out_are_an_ordinary_reply(
    live: Harness, body: str
) -> None:
    await live.missed_call()
    await live.drained()
    await live.twilio.text_in(CALLER, BUSINESS_NUMBER, body)
    card = await only_card(live)
    (message,) = thread(live, card["ts"])
    assert ">" + body in message
    assert "opted back in" not in message
    await wait_until(lambda: "Replied" in state_line(live, card["ts"]), message="not Replied")
    lead_id, _ = await lead_of(live)
    assert await live.services.leads.waiting_since(CALLER, lead_id) is not None  # the clock runs
    (day,) = await live.services.stats.days("default", [today(live)])
    assert day[0]["replied"] == 1
    assert len(live.twilio.messages_to(CALLER)) == 1  # the auto-text: we never answer it


@pytest.mark.settings(OPT_OUT_CONFIRMATION="app")
async def test_in_app_confirmation_mode_start_gets_one_confirmation(harness: Harness) -> None:
    await harness.caller_text("STOP")
    await harness.drained()
    await harness.caller_text("START")
    sent = await texts_to_caller(harness)
    assert len(sent) == 2
    assert "resubscribed" in sent[1]["Body"]


@pytest.mark.parametrize("body", ["HELP", "info", " Help? "])
async def test_help_gets_exactly_one_reply_twilios(live: Harness, body: str) -> None:
    await live.twilio.text_in(CALLER, BUSINESS_NUMBER, body)
    card = await only_card(live)
    (message,) = thread(live, card["ts"])
    assert ">" + body in message
    assert "asked for HELP" in message
    assert "Twilio's help reply" in message
    assert replies_to_caller(live) == [DEFAULT_REPLIES["HELP"]]


@pytest.mark.settings(OPT_OUT_CONFIRMATION="app")
@pytest.mark.parametrize("body", ["HELP", "info", " Help? "])
async def test_in_app_confirmation_mode_help_gets_our_reply_naming_the_business_and_stop(
    harness: Harness, body: str
) -> None:
    await harness.caller_text(body)
    (reply,) = await texts_to_caller(harness)
    assert reply["From"] == BUSINESS_NUMBER
    assert "Johnson Electric" in reply["Body"]
    assert "STOP" in reply["Body"]
    card = await only_card(harness)
    (message,) = thread(harness, card["ts"])
    assert "our help reply" in message


@pytest.mark.settings(OPT_OUT_CONFIRMATION="app")
async def test_help_already_answered_by_twilio_gets_no_second_reply(live: Harness) -> None:
    live.twilio.numbers.use_advanced_opt_out(BUSINESS_NUMBER)
    await live.twilio.text_in(CALLER, BUSINESS_NUMBER, "HELP")
    card = await only_card(live)
    assert ">HELP" in thread(live, card["ts"])[0]
    assert replies_to_caller(live) == [DEFAULT_REPLIES["HELP"]]


@pytest.mark.parametrize(
    "body", ["hi, can you come tuesday?", "thanks!", "yes please", "stop by at 3?"]
)
async def test_ordinary_text_gets_no_automatic_answer(live: Harness, body: str) -> None:
    await live.twilio.text_in(CALLER, BUSINESS_NUMBER, body)
    card = await only_card(live)
    assert ">" + body in thread(live, card["ts"])[0]
    assert replies_to_caller(live) == []


def today(harness: Harness) -> str:
    return datetime.fromtimestamp(harness.clock(), ZoneInfo("America/New_York")).strftime(
        "%Y-%m-%d"
    )
