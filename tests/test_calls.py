"""Calls end to end: ringing the crew, screening, spotting the missed call, and the one text-back.

Everything goes through the signed Twilio webhooks; what a user would see is read off the Slack
and Twilio stand-ins after the outbox has drained.
"""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.domain import templates
from bot.domain.jobs import QUEUES
from bot.domain.segments import count_segments
from tests.conftest import (
    BUSINESS_NUMBER,
    CALLER,
    PUBLIC_URL,
    Clock,
    Harness,
    cards,
    new_sid,
    start_harness,
    thread,
)
from tests.signing import twilio_signature
from tests.standins import DEFAULT_AUTH_TOKEN, SlackStandIn, TwilioStandIn
from tests.waiting import wait_until

CREW_PHONE = "+12025550188"  # the harness's FORWARD_TO
OTHER_CALLER = "+12125550142"
DAY = 86_400


# --- helpers ---------------------------------------------------------------------------------


def twiml(body: str) -> ET.Element:
    """The parsed TwiML document; Twilio rejects anything not wrapped in <Response>."""
    root = ET.fromstring(body)
    assert root.tag == "Response", body
    return root


def call_params(caller: str = CALLER, call_sid: str | None = None, **extra: str) -> dict[str, str]:
    return {
        "CallSid": call_sid or new_sid("CA"),
        "From": caller,
        "To": BUSINESS_NUMBER,
        "Direction": "inbound",
        **extra,
    }


async def texts_after_drain(harness: Harness, number: str = CALLER) -> list[dict[str, Any]]:
    await harness.drained()
    return harness.twilio.messages_to(number)


async def redis_keys(harness: Harness) -> set[str]:
    """Every key the app wrote under its prefix, except what it starts with: the empty outbox
    streams, and the workspace members' roles it lists ahead of their commands."""
    redis: Redis = harness.services.redis
    keys = harness.services.keys
    started = {keys.stream(queue) for queue in QUEUES} | {keys.roles_sweep(), keys.roles_swept()}
    found = {key async for key in redis.scan_iter(match=f"{keys.prefix}:*", count=1000)}
    return {key for key in found - started if not key.startswith(keys.slack_admin(""))}


# --- POST /twilio/voice: ringing the crew ----------------------------------------------------


async def test_incoming_call_rings_the_crew_for_18_seconds_with_screening(
    harness: Harness,
) -> None:
    call_sid = new_sid("CA")
    response = await harness.twilio_post(
        "/twilio/voice", call_params(call_sid=call_sid, CallStatus="ringing")
    )
    assert response.status == 200
    assert response.content_type == "text/xml"
    root = twiml(await response.text())
    dial = root.find("Dial")
    assert dial is not None
    assert dial.get("timeout") == "18"
    assert dial.get("action") == f"{PUBLIC_URL}/twilio/voice/dial-status"
    numbers = dial.findall("Number")
    assert [n.text for n in numbers] == [CREW_PHONE]
    # On the crew's leg To is the crew's phone: the line travels in the URL.
    assert (
        numbers[0].get("url") == f"{PUBLIC_URL}/twilio/voice/screen?parent={call_sid}&line=default"
    )
    # Ringing is not missing: nothing is texted or posted yet.
    await harness.drained()
    assert harness.twilio.messages == []
    assert harness.slack.posts == []


@pytest.mark.settings(SCREEN_CALLS=False)
async def test_without_screening_the_crew_phone_is_dialled_directly(harness: Harness) -> None:
    response = await harness.twilio_post("/twilio/voice", call_params(CallStatus="ringing"))
    assert response.status == 200
    number = twiml(await response.text()).find("Dial/Number")
    assert number is not None
    assert number.text == CREW_PHONE
    assert number.get("url") is None


@pytest.mark.settings(FORWARD_TO="")
async def test_with_nobody_to_ring_the_call_is_missed_at_once_and_texted(
    harness: Harness,
) -> None:
    response = await harness.twilio_post("/twilio/voice", call_params(CallStatus="ringing"))
    assert response.status == 200
    root = twiml(await response.text())
    assert root.find("Dial") is None
    assert root.find("Say") is not None
    assert "text you" in (root.findtext("Say") or "")
    assert root.find("Hangup") is not None
    sent = await texts_after_drain(harness)
    assert len(sent) == 1
    assert sent[0]["From"] == BUSINESS_NUMBER
    assert "Auto-text sent" in cards(harness)[0]["text"]


# --- screening: only a key press counts as answered -----------------------------------------


async def test_screen_prompt_asks_for_one_key_then_hangs_up(harness: Harness) -> None:
    parent = new_sid("CA")
    response = await harness.twilio_post(
        f"/twilio/voice/screen?parent={parent}",
        {"CallSid": new_sid("CA"), "From": BUSINESS_NUMBER, "To": CREW_PHONE},
    )
    assert response.status == 200
    root = twiml(await response.text())
    assert [child.tag for child in root] == ["Gather", "Hangup"]
    gather = root[0]
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == f"{PUBLIC_URL}/twilio/voice/screen-accept?parent={parent}"
    assert "Johnson Electric" in (gather.findtext("Say") or "")


async def test_crew_pressing_a_key_marks_the_call_answered_so_no_text_goes_out(
    harness: Harness,
) -> None:
    parent = new_sid("CA")
    accept = await harness.twilio_post(
        f"/twilio/voice/screen-accept?parent={parent}",
        {"CallSid": new_sid("CA"), "From": BUSINESS_NUMBER, "To": CREW_PHONE, "Digits": "1"},
    )
    assert accept.status == 200
    assert twiml(await accept.text()).find("Hangup") is None  # empty answer connects the caller

    ended = await harness.missed_call(call_sid=parent, status="completed")
    assert ended.status == 200
    assert [child.tag for child in twiml(await ended.text())] == ["Hangup"]
    assert await texts_after_drain(harness) == []
    assert harness.slack.posts == []
    # Late or out-of-order callbacks for the answered call are acknowledged and change nothing.
    late_dial = await harness.missed_call(call_sid=parent, status="no-answer")
    assert late_dial.status == 200
    assert twiml(await late_dial.text()).find("Hangup") is not None
    late_status = await harness.twilio_post(
        "/twilio/voice/status", call_params(call_sid=parent, CallStatus="busy")
    )
    assert late_status.status in (200, 204)
    assert await texts_after_drain(harness) == []
    assert harness.slack.posts == []


async def test_voicemail_picking_up_without_a_key_press_counts_as_missed(
    harness: Harness,
) -> None:
    parent = new_sid("CA")
    # The screen ran (voicemail "heard" the prompt) but no key came: Twilio reports completed.
    await harness.twilio_post(
        f"/twilio/voice/screen?parent={parent}",
        {"CallSid": new_sid("CA"), "From": BUSINESS_NUMBER, "To": CREW_PHONE},
    )
    response = await harness.missed_call(call_sid=parent, status="completed")
    assert response.status == 200
    sent = await texts_after_drain(harness)
    assert len(sent) == 1
    assert "Auto-text sent" in cards(harness)[0]["text"]


async def test_screen_accept_without_digits_hangs_up_and_the_call_stays_missed(
    harness: Harness,
) -> None:
    parent = new_sid("CA")
    accept = await harness.twilio_post(
        f"/twilio/voice/screen-accept?parent={parent}",
        {"CallSid": new_sid("CA"), "From": BUSINESS_NUMBER, "To": CREW_PHONE},
    )
    assert twiml(await accept.text()).find("Hangup") is not None
    await harness.missed_call(call_sid=parent, status="completed")
    assert len(await texts_after_drain(harness)) == 1


@pytest.mark.settings(SCREEN_CALLS=False)
async def test_without_screening_a_completed_dial_counts_as_answered(harness: Harness) -> None:
    await harness.missed_call(status="completed")
    assert await texts_after_drain(harness) == []
    assert harness.slack.posts == []


# --- which callbacks mean "missed" ------------------------------------------------------------


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed", "canceled"])
async def test_unanswered_dial_texts_the_caller(harness: Harness, status: str) -> None:
    response = await harness.missed_call(status=status)
    assert response.status == 200
    root = twiml(await response.text())
    assert root.find("Hangup") is not None
    sent = await texts_after_drain(harness)
    assert len(sent) == 1
    assert sent[0]["From"] == BUSINESS_NUMBER


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed", "canceled"])
async def test_status_callback_for_unanswered_inbound_call_texts_the_caller(
    harness: Harness, status: str
) -> None:
    response = await harness.twilio_post("/twilio/voice/status", call_params(CallStatus=status))
    assert response.status in (200, 204)
    assert len(await texts_after_drain(harness)) == 1
    assert len(cards(harness)) == 1


@pytest.mark.parametrize("direction", ["outbound-api", "outbound-dial"])
async def test_outbound_calls_never_trigger_a_text(harness: Harness, direction: str) -> None:
    params = call_params(CallStatus="no-answer")
    params["Direction"] = direction
    response = await harness.twilio_post("/twilio/voice/status", params)
    assert response.status in (200, 204)
    await harness.drained()
    assert harness.twilio.messages == []
    assert harness.slack.posts == []


async def test_completed_inbound_call_status_sends_nothing(harness: Harness) -> None:
    response = await harness.twilio_post(
        "/twilio/voice/status", call_params(CallStatus="completed")
    )
    assert response.status in (200, 204)
    await harness.drained()
    assert harness.twilio.messages == []
    assert harness.slack.posts == []


# --- the same caller again ----------------------------------------------------------------------


async def test_second_call_within_window_gets_no_text_and_lands_in_the_same_thread(
    harness: Harness,
) -> None:
    await harness.missed_call()
    await harness.drained()
    await harness.missed_call()
    sent = await texts_after_drain(harness)
    assert len(sent) == 1
    (card,) = cards(harness)
    (note,) = thread(harness, card["ts"])
    assert "already texted" in note
    assert "Called again" in note


async def test_call_after_the_window_gets_the_repeat_text_in_the_same_thread(
    harness: Harness,
) -> None:
    await harness.missed_call()
    await harness.drained()
    harness.clock.advance(25 * 3600)
    await harness.missed_call()
    sent = await texts_after_drain(harness)
    assert len(sent) == 2
    assert not sent[0]["Body"].startswith("Hi again")
    assert sent[1]["Body"].startswith("Hi again")
    assert "Johnson Electric" in sent[1]["Body"]
    assert sent[1]["Body"].endswith("Reply STOP to opt out.")
    (card,) = cards(harness)
    (note,) = thread(harness, card["ts"])
    assert "Auto-text sent" in note


async def test_call_after_the_lead_went_quiet_opens_a_new_lead_card(harness: Harness) -> None:
    await harness.missed_call()
    await harness.drained()
    harness.clock.advance(15 * DAY)
    await harness.missed_call()
    sent = await texts_after_drain(harness)
    assert len(sent) == 2
    first, second = cards(harness)
    assert first["ts"] != second["ts"]
    assert "Missed call" in second["text"]
    assert "Auto-text sent" in second["text"]
    assert thread(harness, first["ts"]) == []
    assert thread(harness, second["ts"]) == []


async def test_caller_name_on_the_card_cannot_ping_the_channel(harness: Harness) -> None:
    await harness.missed_call(CallerName="BOB <!here> & CO")
    await harness.drained()
    (card,) = cards(harness)
    assert "BOB &lt;!here&gt; &amp; CO" in card["text"]
    assert "<!here>" not in card["text"]


# --- who never gets a text ------------------------------------------------------------------------


async def test_excluded_number_gets_no_text_and_the_card_says_why(harness: Harness) -> None:
    await harness.services.callers.exclude(CALLER, "default", "supplier")
    await harness.missed_call()
    assert await texts_after_drain(harness) == []
    (card,) = cards(harness)
    assert "exclusion list" in card["text"]
    assert "(202) 555-0123" in card["text"]


async def test_opted_out_number_gets_no_text_and_the_card_says_why(harness: Harness) -> None:
    await harness.services.callers.record_opt_out(CALLER, "default", harness.clock())
    await harness.missed_call()
    assert await texts_after_drain(harness) == []
    (card,) = cards(harness)
    assert "opted out" in card["text"]


@pytest.mark.parametrize("from_", ["anonymous", "", "+15551234567"])
async def test_hidden_caller_id_gets_no_text_but_the_channel_is_told(
    harness: Harness, from_: str
) -> None:
    response = await harness.missed_call(caller=from_)
    assert response.status == 200
    await harness.drained()
    assert harness.twilio.messages == []
    (notice,) = cards(harness)
    assert "hidden" in notice["text"]


async def test_hidden_caller_id_duplicate_callbacks_post_one_notice(harness: Harness) -> None:
    call_sid = new_sid("CA")
    await harness.missed_call(caller="anonymous", call_sid=call_sid)
    await harness.missed_call(caller="anonymous", call_sid=call_sid, status="busy")
    await harness.drained()
    assert len(harness.slack.posts) == 1


# --- what the text says ------------------------------------------------------------------------


@pytest.mark.settings(BUSINESS_HOURS="closed")
async def test_after_hours_caller_is_told_we_are_closed(harness: Harness) -> None:
    await harness.missed_call()
    (sent,) = await texts_after_drain(harness)
    assert "closed" in sent["Body"]
    assert "Johnson Electric" in sent["Body"]
    assert sent["Body"].endswith("Reply STOP to opt out.")


async def test_business_hours_caller_gets_the_business_hours_text(harness: Harness) -> None:
    await harness.missed_call()
    (sent,) = await texts_after_drain(harness)
    # With no INTAKE_URL the text links the caller's own intake page (tests/test_intake.py).
    link = re.search(r"https://\S+/i/[\w-]+", sent["Body"])
    assert link is not None
    expected = templates.render("business", business="Johnson Electric", link=link.group(0)).text
    assert sent["Body"] == expected
    assert "closed" not in sent["Body"]
    info = count_segments(sent["Body"])
    assert (info.encoding, info.segments) == ("GSM-7", 1)


@pytest.mark.settings(INTAKE_URL="https://johnson.example.test/book")
async def test_intake_link_is_put_in_the_text(harness: Harness) -> None:
    await harness.missed_call()
    (sent,) = await texts_after_drain(harness)
    assert "https://johnson.example.test/book" in sent["Body"]
    assert sent["Body"].endswith("Reply STOP to opt out.")


@pytest.mark.parametrize("kind", templates.KINDS)
def test_default_templates_fit_one_gsm7_segment_for_johnson_electric(kind: str) -> None:
    text = templates.render(kind, business="Johnson Electric", link=None).text  # type: ignore[arg-type]
    info = count_segments(text)
    assert info.encoding == "GSM-7"
    assert info.segments == 1
    assert "Johnson Electric" in text
    assert text.endswith("Reply STOP to opt out.")


# --- two app instances racing -----------------------------------------------------------------


@pytest.fixture
async def second(
    harness: Harness,
    redis_url: str,
    key_prefix: str,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    clock: Clock,
) -> Any:
    """A second app instance (with its own worker) on the same Redis prefix and stand-ins."""
    other = await start_harness(redis_url, key_prefix, slack, twilio, clock)
    yield other
    await other.client.close()


async def test_two_instances_receiving_the_same_call_send_one_text(
    harness: Harness, second: Harness
) -> None:
    callers = [f"+1202555010{i}" for i in range(1, 6)]
    sids = {caller: new_sid("CA") for caller in callers}
    responses = await asyncio.gather(
        *(
            h.missed_call(caller=caller, call_sid=sids[caller])
            for caller in callers
            for h in (harness, second, harness, second)
        )
    )
    assert all(r.status == 200 for r in responses)
    await harness.drained()
    await second.drained()
    for caller in callers:
        assert len(harness.twilio.messages_to(caller)) == 1, caller
    assert len(harness.slack.posts) == len(callers)


async def test_two_instances_with_different_calls_from_one_caller_send_one_text(
    harness: Harness, second: Harness
) -> None:
    callers = [f"+1212555010{i}" for i in range(1, 6)]
    responses = await asyncio.gather(
        *(h.missed_call(caller=caller) for caller in callers for h in (harness, second))
    )
    assert all(r.status == 200 for r in responses)
    await harness.drained()
    await second.drained()
    for caller in callers:
        assert len(harness.twilio.messages_to(caller)) == 1, caller
    # One lead card per caller; the other call is a note inside that card's thread.
    assert len(cards(harness)) == len(callers)
    for card in cards(harness):
        (note,) = thread(harness, card["ts"])
        assert "already texted" in note


# --- forged webhooks ----------------------------------------------------------------------------

DIAL_STATUS = "/twilio/voice/dial-status"


def _sign(url: str, params: dict[str, str]) -> str:
    """A genuine signature (the real auth token) over a URL other than the one requested."""
    return twilio_signature(DEFAULT_AUTH_TOKEN, url, params)


FORGERIES: dict[str, Any] = {
    "wrong signature": lambda p: {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJlIGF0IGFsbA=="},
    "missing signature": lambda p: {},
    "empty signature": lambda p: {"X-Twilio-Signature": ""},
    "signed for http": lambda p: {
        "X-Twilio-Signature": _sign("http://textback.example.test" + DIAL_STATUS, p)
    },
    "signed for another host via Host header": lambda p: {
        "X-Twilio-Signature": _sign("http://evil.example.test" + DIAL_STATUS, p),
        "Host": "evil.example.test",
    },
    "signed for http via X-Forwarded-Proto": lambda p: {
        "X-Twilio-Signature": _sign("http://textback.example.test" + DIAL_STATUS, p),
        "X-Forwarded-Proto": "http",
        "X-Forwarded-Host": "textback.example.test",
    },
    "signed for another path": lambda p: {
        "X-Twilio-Signature": _sign(PUBLIC_URL + "/twilio/voice/status", p)
    },
    "signed over other params": lambda p: {
        "X-Twilio-Signature": _sign(PUBLIC_URL + DIAL_STATUS, {**p, "From": OTHER_CALLER})
    },
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
async def test_forged_dial_status_is_refused_and_changes_nothing(
    harness: Harness, forgery: str
) -> None:
    assert await redis_keys(harness) == set()
    params = call_params(DialCallStatus="no-answer")
    headers = FORGERIES[forgery](params)
    response = await harness.client.post(DIAL_STATUS, data=params, headers=headers)
    assert response.status == 403
    await harness.drained()
    assert harness.twilio.messages == []
    assert harness.slack.posts == []
    assert await redis_keys(harness) == set()


@pytest.mark.parametrize(
    "path", ["/twilio/voice", "/twilio/voice/status", "/twilio/voice/screen", "/twilio/sms"]
)
async def test_forged_webhooks_on_every_twilio_route_are_refused(
    harness: Harness, path: str
) -> None:
    params = call_params(CallStatus="no-answer", Body="hi", MessageSid=new_sid("SM"))
    response = await harness.twilio_post(path, params, signature="bm90IGEgc2lnbmF0dXJl")
    assert response.status == 403
    await harness.drained()
    assert harness.twilio.messages == []
    assert harness.slack.posts == []


async def test_forged_key_press_cannot_suppress_the_text(harness: Harness) -> None:
    parent = new_sid("CA")
    path = f"/twilio/voice/screen-accept?parent={parent}"
    params = {"CallSid": new_sid("CA"), "To": CREW_PHONE, "Digits": "1"}
    # Signed for the right URL without the query string: the query is part of what is signed.
    forged = _sign(PUBLIC_URL + "/twilio/voice/screen-accept", params)
    response = await harness.twilio_post(path, params, signature=forged)
    assert response.status == 403
    await harness.missed_call(call_sid=parent, status="completed")
    assert len(await texts_after_drain(harness)) == 1


# --- malformed webhooks ---------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["CallSid", "To"])
@pytest.mark.parametrize(
    ("path", "status_field"),
    [
        ("/twilio/voice", "CallStatus"),
        ("/twilio/voice/dial-status", "DialCallStatus"),
        ("/twilio/voice/status", "CallStatus"),
    ],
)
async def test_call_webhook_missing_callsid_or_to_is_a_bad_request(
    harness: Harness, path: str, status_field: str, missing: str
) -> None:
    params = call_params(**{status_field: "no-answer"})
    del params[missing]
    response = await harness.twilio_post(path, params)
    assert response.status == 400
    await harness.drained()
    assert harness.twilio.messages == []
    assert harness.slack.posts == []


async def test_dial_status_with_unreadable_business_number_is_a_bad_request(
    harness: Harness,
) -> None:
    response = await harness.missed_call(To="not-a-number")
    assert response.status == 400
    await harness.drained()
    assert harness.twilio.messages == []


# --- answering Twilio fast ------------------------------------------------------------------


async def test_dial_status_answers_before_twilio_is_called_and_the_text_follows(
    harness: Harness,
) -> None:
    harness.twilio.latency = 2  # every Twilio API request now takes 2 s to answer
    response = await harness.missed_call()
    assert response.status == 200
    # The webhook has answered while the text is still an unacknowledged job in the outbox. A job
    # is acknowledged only after Twilio answered the send, which takes 2 s, so the handler did not
    # wait for Twilio. (Whether the stand-in has *received* the request by now is a race between
    # the worker and this test reading the response, so it is not asserted.)
    depth = await harness.services.outbox.depth()
    assert depth["sms"] == 1
    sent = await wait_until(
        lambda: harness.twilio.messages_to(CALLER), timeout=10, message="text never sent"
    )
    assert len(sent) == 1
    await harness.drained()
    assert len(harness.twilio.messages_to(CALLER)) == 1
    assert (await harness.services.outbox.depth())["sms"] == 0


async def test_key_pressed_but_never_bridged_still_counts_as_missed(harness: Harness) -> None:
    call_sid = new_sid("CA")
    accept = f"/twilio/voice/screen-accept?parent={call_sid}"
    await harness.twilio_post(accept, {"CallSid": new_sid("CA"), "Digits": "1"})
    await harness.missed_call(call_sid=call_sid, status="completed", DialBridged="false")
    sent = await wait_until(lambda: harness.twilio.messages_to(CALLER), message="no text")
    await harness.drained()
    assert len(sent) == 1
