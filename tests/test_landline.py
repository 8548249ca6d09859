"""Callers who can't get a text (a landline): the card asks for a call back, with the button first,
and the caller is waiting from that moment. Found by the auto-text failing with 30006 (in its
status callback, after the card was posted as Texted) or, with LOOKUP_LINE_TYPE, by Twilio
Lookup while the crew's phones ring.
"""

from __future__ import annotations

import pytest

from bot.domain.cards import LANDLINE
from tests.calling import live, twiml
from tests.conftest import BUSINESS_NUMBER, CALLER, Harness, cards, new_sid, thread
from tests.lead_helpers import buttons, first_card, state_line, wait_state
from tests.waiting import wait_until

DAY = 86_400


async def lead_id(harness: Harness) -> str:
    return (await harness.services.callers.caller(CALLER, "default"))["lead_id"]


async def ring(harness: Harness, call_sid: str) -> None:
    """The call comes in and the crew's phones start ringing."""
    response = await harness.twilio_post(
        "/twilio/voice",
        {"CallSid": call_sid, "From": CALLER, "To": BUSINESS_NUMBER, "Direction": "inbound"},
    )
    assert response.status == 200


# --- the auto-text fails with 30006 -------------------------------------------------------------


async def test_a_text_that_fails_as_a_landline_turns_the_card_into_call_them_back(
    harness: Harness,
) -> None:
    live(harness)  # Twilio sends the texts' status callbacks
    harness.twilio.fail_delivery_to(CALLER, 30006)

    await harness.missed_call()
    await wait_until(lambda: cards(harness), message="no card")
    ts = first_card(harness)

    assert LANDLINE in await wait_state(harness, ts, "Landline")
    assert next(iter(buttons(harness, ts))) == "lead_call_back"  # the only way to reach them
    [note] = await wait_until(lambda: thread(harness, ts), timeout=15, message="no note")
    assert note.startswith(":phone: Text not delivered (auto-text (business)):")
    assert "30006" in note and "tap *Call back*" in note
    # They are waiting for a call from now: the reminder clock runs.
    assert await harness.services.leads.waiting_since(CALLER, await lead_id(harness))
    await harness.twilio.settled()
    await harness.drained()
    assert len(thread(harness, ts)) == 1  # said once


async def test_after_a_30006_the_next_call_hears_well_call_back_and_gets_no_text(
    harness: Harness,
) -> None:
    live(harness)
    harness.twilio.fail_delivery_to(CALLER, 30006)
    await harness.missed_call()
    ts = await wait_until(lambda: cards(harness) and first_card(harness), message="no card")
    await wait_until(lambda: thread(harness, ts), timeout=15, message="no note")
    await harness.twilio.settled()
    await harness.drained()
    harness.clock.advance(25 * 3600)  # past the one-text window

    response = await harness.missed_call()
    assert twiml(await response.text()).findtext("Say") == (
        "Sorry we missed your call. We'll call you back shortly. Goodbye."
    )
    await harness.drained()
    assert len(harness.twilio.messages_to(CALLER)) == 1  # no second doomed text


async def test_a_landline_reminder_asks_for_a_call_not_a_reply(harness: Harness) -> None:
    live(harness)
    harness.twilio.fail_delivery_to(CALLER, 30006)
    await harness.missed_call()
    ts = await wait_until(lambda: cards(harness) and first_card(harness), message="no card")
    await wait_state(harness, ts, "Landline")
    harness.clock.advance(11 * 60)  # past REPLY_SLA_MINUTES (10)

    lines = await wait_until(
        lambda: len(thread(harness, ts)) >= 2 and thread(harness, ts), timeout=15
    )
    assert ":alarm_clock:" in lines[1]
    assert "can't get texts: tap *Call back*" in lines[1]


async def test_a_30006_on_a_crew_reply_is_only_a_failed_text(harness: Harness) -> None:
    """Only the auto-text turns the card: a crew reply's failure is told where it was written."""
    live(harness)
    await harness.missed_call()
    ts = await wait_until(lambda: cards(harness) and first_card(harness), message="no card")
    await wait_state(harness, ts, "Texted")
    await harness.twilio.settled()
    harness.twilio.fail_delivery_to(CALLER, 30006)

    await harness.crew_reply(ts, "We can come Tuesday")
    await wait_until(lambda: thread(harness, ts), timeout=15, message="no failure notice")
    await harness.twilio.settled()
    await harness.drained()
    assert "Landline" not in state_line(harness, ts)


# --- Lookup (LOOKUP_LINE_TYPE) ------------------------------------------------------------------


@pytest.mark.settings(LOOKUP_LINE_TYPE=True)
async def test_lookup_finds_a_landline_while_the_phones_ring_so_no_text_goes_out(
    harness: Harness,
) -> None:
    harness.twilio.numbers.set_line_type(CALLER, "landline")
    call_sid = new_sid("CA")

    await ring(harness, call_sid)
    await wait_until(
        lambda: harness.services.calls.line_type(CALLER), message="lookup never stored"
    )
    response = await harness.missed_call(call_sid=call_sid)

    assert twiml(await response.text()).findtext("Say") == (
        "Sorry we missed your call. We'll call you back shortly. Goodbye."
    )
    assert harness.twilio.numbers.lookups == [CALLER]
    ts = await wait_until(lambda: cards(harness) and first_card(harness), message="no card")
    await wait_state(harness, ts, "Landline")
    await harness.drained()
    assert harness.twilio.messages == []
    assert "landline" in cards(harness)[0]["text"]  # the card's status line says why
    [note] = thread(harness, ts)
    assert "landline" in note and "Call back" in note
    assert await harness.services.leads.waiting_since(CALLER, await lead_id(harness))


@pytest.mark.settings(LOOKUP_LINE_TYPE=True)
async def test_lookup_of_a_mobile_changes_nothing(harness: Harness) -> None:
    call_sid = new_sid("CA")
    await ring(harness, call_sid)
    await wait_until(lambda: harness.services.calls.line_type(CALLER), message="no lookup")

    response = await harness.missed_call(call_sid=call_sid)

    assert "text you" in (twiml(await response.text()).findtext("Say") or "")
    await harness.drained()
    assert len(harness.twilio.messages_to(CALLER)) == 1
    assert await harness.services.calls.line_type(CALLER) == "mobile"


@pytest.mark.settings(LOOKUP_LINE_TYPE=True)
async def test_without_the_lookups_answer_yet_the_caller_gets_the_usual_goodbye(
    harness: Harness,
) -> None:
    harness.twilio.numbers.set_line_type(CALLER, "landline")
    harness.twilio.latency = 1.5  # Lookup has not answered by the time the ring ends
    call_sid = new_sid("CA")

    await ring(harness, call_sid)
    response = await harness.missed_call(call_sid=call_sid)

    assert "text you" in (twiml(await response.text()).findtext("Say") or "")
    await harness.drained(timeout=15)
    assert await harness.services.calls.line_type(CALLER) == "landline"  # it came, later


@pytest.mark.settings(LOOKUP_LINE_TYPE=True)
async def test_a_number_is_looked_up_once_a_month(harness: Harness) -> None:
    for _ in range(3):
        await ring(harness, new_sid("CA"))
        await harness.drained()
    assert harness.twilio.numbers.lookups == [CALLER]

    key = harness.services.keys.line_type(CALLER)
    assert 29 * DAY < await harness.services.redis.ttl(key) <= 30 * DAY
    await harness.services.redis.delete(key)  # as Redis does after those 30 days
    await ring(harness, new_sid("CA"))
    await harness.drained()
    assert harness.twilio.numbers.lookups == [CALLER, CALLER]


async def test_without_lookup_line_type_nothing_is_looked_up(harness: Harness) -> None:
    await ring(harness, new_sid("CA"))
    await harness.missed_call()
    await harness.drained()
    assert harness.twilio.numbers.lookups == []
