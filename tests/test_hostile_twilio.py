"""Signed Twilio webhooks with hostile or broken content: a clear 4xx or a clean answer, never a
500, and whatever valid part a request has (the caller, their text) still goes through."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.app import MAX_BODY
from bot.domain import templates
from bot.domain.phone import caller_number
from tests.conftest import BUSINESS_NUMBER, CALLER, Harness, new_sid
from tests.hostile import (
    FORM,
    ODD_NUMBERS,
    TWILIO_ROUTES,
    odd_numbers,
    odd_values,
    post_twilio,
    signed_twilio,
)
from tests.load.numbers import callers

FIELDS = (
    "CallSid",
    "MessageSid",
    "From",
    "To",
    "Direction",
    "CallStatus",
    "DialCallStatus",
    "DialBridged",
    "CallerName",
    "Digits",
    "Body",
    "NumMedia",
    "MediaUrl0",
    "MediaContentType0",
    "OptOutType",
    "MessageStatus",
    "ErrorCode",
)
forms = st.dictionaries(
    st.sampled_from(FIELDS) | st.text(min_size=1, max_size=20),
    odd_values | odd_numbers | st.sampled_from(["no-answer", "inbound", "failed", "completed"]),
    max_size=len(FIELDS),
)


@given(route=st.sampled_from(TWILIO_ROUTES), params=forms)
async def test_any_signed_twilio_form_gets_a_clear_answer_never_a_500(
    harness: Harness, route: str, params: dict[str, str]
) -> None:
    response = await post_twilio(harness, route, params)
    text = await response.text()
    assert response.status in (200, 204, 400), (response.status, text)
    if response.status == 400:
        assert text.startswith(("missing ", "To: ")), text


@pytest.mark.parametrize("route", TWILIO_ROUTES)
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"Body=\xff\xfe&From=%2B12025550123", FORM),  # raw bytes that aren't UTF-8
        (b"From=\xc3", FORM),  # a truncated UTF-8 sequence
        (b"Body=hi", FORM + "; charset=no-such-charset"),
    ],
    ids=["invalid utf-8", "truncated utf-8", "unknown charset"],
)
async def test_unreadable_twilio_form_gets_400_not_500(
    harness: Harness, route: str, body: bytes, content_type: str
) -> None:
    response = await harness.client.post(
        route,
        data=io.BytesIO(body),
        headers={"Content-Type": content_type, "X-Twilio-Signature": "x"},
    )
    assert response.status == 400
    assert "UTF-8" in await response.text()
    assert harness.slack.calls == [] and harness.twilio.attempts == []


@given(number=odd_numbers)
async def test_missed_call_from_any_number_shows_in_slack_and_texts_only_a_real_number(
    harness: Harness, number: str
) -> None:
    posts_before, texts_before = len(harness.slack.posts), len(harness.twilio.messages)
    response = await harness.missed_call(caller=number)
    assert response.status == 200
    await harness.drained()
    # Every call shows: a card, a note in the caller's thread, or a "hidden number" notice.
    assert len(harness.slack.posts) == posts_before + 1
    sent = harness.twilio.messages[texts_before:]
    if caller_number(number) is None:
        assert sent == []
        assert "hidden number" in harness.slack.posts[-1]["text"]
    for message in sent:
        assert message["To"] == caller_number(number)


def test_odd_numbers_include_hidden_ones_and_real_ones() -> None:
    """The list above means something: some are hidden or invalid, some reach a caller."""
    readable = {caller_number(n) for n in ODD_NUMBERS} - {None}
    assert None in {caller_number(n) for n in ODD_NUMBERS}
    assert {"+12025550123", "+12125550142"} <= readable
    assert all(n.startswith("+") and n[1:].isascii() and n[1:].isdigit() for n in readable)


@given(
    body=st.text(max_size=2000),
    repeat=st.sampled_from([1, 1, 1, 40_000]),  # sometimes 40 K characters (Twilio caps 1,600)
    num_media=odd_values,
    junk=st.dictionaries(st.text(min_size=1, max_size=12), odd_values, max_size=4),
)
async def test_caller_text_with_odd_fields_still_reaches_the_thread(
    harness: Harness, body: str, repeat: int, num_media: str, junk: dict[str, str]
) -> None:
    body = (body * repeat)[:40_000] if body else "x" * repeat
    params: dict[str, Any] = {
        **junk,
        "MessageSid": new_sid("SM"),
        "From": CALLER,
        "To": BUSINESS_NUMBER,
        "Body": body,
        "NumMedia": num_media,
        "MediaUrl0": "javascript:alert(1)",
    }
    relayed_before = _relayed(harness)
    response = await post_twilio(harness, "/twilio/sms", params)
    assert response.status == 200
    await harness.drained()
    assert _relayed(harness) == relayed_before + 1
    assert harness.slack.uploads == []  # the only media URL was not a web address


def _relayed(harness: Harness) -> int:
    return sum("*Caller" in p["text"] for p in harness.slack.posts)


async def test_longest_genuine_text_fits_under_the_body_cap(harness: Harness) -> None:
    """1,600 emoji (Twilio's cap) and ten media URLs: well under MAX_BODY once form-encoded."""
    (caller,) = callers(1)
    params = {
        "MessageSid": new_sid("SM"),
        "From": caller,
        "To": BUSINESS_NUMBER,
        "Body": "🔥" * 1600,
        "NumMedia": "0",
        **{f"MediaUrl{i}": "https://api.twilio.com/" + "m" * 200 for i in range(10)},
    }
    assert len(urlencode(params)) < 25_000 < MAX_BODY  # what the README says
    response = await post_twilio(harness, "/twilio/sms", params)
    assert response.status == 200


@pytest.mark.parametrize("route", [*TWILIO_ROUTES, "/slack/events"])
async def test_body_over_the_cap_is_refused_with_413(harness: Harness, route: str) -> None:
    body = b"Body=" + b"x" * (1024 * 1024)
    headers = {"Content-Type": FORM, **signed_twilio(harness, route, {})}
    response = await harness.client.post(route, data=io.BytesIO(body), headers=headers)
    assert response.status == 413
    assert harness.slack.calls == [] and harness.twilio.attempts == []


@given(
    route=st.sampled_from(["/twilio/voice/screen", "/twilio/voice/screen-accept"]),
    parent=st.text(max_size=80),
    digits=odd_values,
)
async def test_screening_with_any_parent_and_digits_answers_twiml(
    harness: Harness, route: str, parent: str, digits: str
) -> None:
    path = f"{route}?{urlencode({'parent': parent})}"
    params = {"CallSid": new_sid("CA"), "To": "+12025550188", "Digits": digits}
    response = await post_twilio(harness, path, params)
    assert response.status == 200
    assert (await response.text()).startswith('<?xml version="1.0" encoding="UTF-8"?><Response')


@given(name=odd_values | odd_numbers | st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
@example(name="èva")  # GSM-7 has è but not È
@example(name="ùrsula")
@example(name="ßabcdefghijk")  # 12 letters, 13 once ß is capitalised to "Ss"
def test_no_caller_name_makes_the_auto_text_longer_or_costlier_than_its_preview(
    name: str,
) -> None:
    template = "Hi {first_name}, this is {business}. Reply here. Reply STOP to opt out."
    longest = templates.render(
        "business",
        business="Johnson Electric",
        link=None,
        template=template,
        caller_name="Abcdefghijkl",  # the 12 letters the preview assumes
    )
    real = templates.render(
        "business", business="Johnson Electric", link=None, template=template, caller_name=name
    )
    assert len(real.text) <= len(longest.text)
    assert real.segments.encoding == longest.segments.encoding == "GSM-7"
    assert real.segments.segments <= longest.segments.segments
