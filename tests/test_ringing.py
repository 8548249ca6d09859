"""How the crew's phones ring (bot/domain/ringing.py): all at once, and again without a phone whose
voicemail took the call, so one switched-off phone no longer ends the ring for the whole crew.

The Twilio simulator walks the call: every <Number> of a <Dial> rings at once and the first leg
that answers wins (a voicemail answers at once); each test reads the TwiML of every round.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.ringing import next_round
from tests.calling import documents, live, settle, twiml
from tests.conftest import BUSINESS_NUMBER, CALLER, Harness, cards, new_sid

A, B, C = "+12025550188", "+12025550189", "+12025550190"
TEXTING = "Sorry we missed your call. We'll text you at this number in a moment."
PROMPT = "Call for Johnson Electric. Press any key to take it."


def rounds(record: Any) -> list[list[str]]:
    """The phones each <Dial> our app answered with rang, round by round."""
    found = []
    for root in documents(record, "/twilio/voice"):
        dial = root.find("Dial")
        if dial is not None:
            assert dial.get("timeout") == "18"  # every round rings for RING_SECONDS
            found.append([n.text or "" for n in dial.findall("Number")])
    return found


async def ring(harness: Harness, crew: dict[str, str]) -> Any:
    live(harness)
    record = await harness.twilio.call_in(CALLER, BUSINESS_NUMBER, crew=crew)  # type: ignore[arg-type]
    await settle(harness)
    return record


TWO = f"{A},{B}"
THREE = f"{A},{B},{C}"


@pytest.mark.settings(FORWARD_TO=TWO)
async def test_two_phones_one_voicemail_the_other_still_rings_and_takes_the_call(
    harness: Harness,
) -> None:
    record = await ring(harness, {A: "voicemail", B: "answer-and-press"})

    assert rounds(record) == [[A, B], [B]]
    assert [(leg.number, leg.status, leg.bridged) for leg in record.legs] == [
        (
            A,
            "completed",
            False,
        ),  # A's voicemail answered at once, heard the prompt, pressed nothing
        (B, "canceled", False),  # Twilio hung up B when A answered
        (B, "completed", True),  # B rings again alone, answers, presses a key: connected
    ]
    assert record.legs[0].heard == [PROMPT]
    assert harness.twilio.messages == [] and cards(harness) == []  # answered: no text, no card


@pytest.mark.settings(FORWARD_TO=TWO)
async def test_two_phones_one_voicemail_the_other_not_answering_is_a_missed_call(
    harness: Harness,
) -> None:
    record = await ring(harness, {A: "voicemail", B: "no-answer"})

    assert rounds(record) == [[A, B], [B]]
    assert record.heard == [TEXTING]
    assert len(harness.twilio.messages_to(CALLER)) == 1
    assert len(cards(harness)) == 1


@pytest.mark.settings(FORWARD_TO=TWO)
async def test_two_phones_nobody_answering_is_one_round(harness: Harness) -> None:
    record = await ring(harness, {A: "no-answer", B: "no-answer"})

    assert rounds(record) == [[A, B]]
    assert record.heard == [TEXTING]
    assert len(harness.twilio.messages_to(CALLER)) == 1


@pytest.mark.settings(FORWARD_TO=THREE)
async def test_three_phones_two_voicemails_the_third_takes_the_call(harness: Harness) -> None:
    record = await ring(harness, {A: "voicemail", B: "voicemail", C: "answer-and-press"})

    assert rounds(record) == [[A, B, C], [B, C], [C]]
    assert [leg.number for leg in record.legs if leg.bridged] == [C]
    assert harness.twilio.messages == []


@pytest.mark.settings(FORWARD_TO=THREE)
async def test_three_phones_first_answer_wins_in_the_first_round(harness: Harness) -> None:
    record = await ring(harness, {A: "answer-and-press", B: "voicemail", C: "no-answer"})

    assert rounds(record) == [[A, B, C]]
    assert [leg.number for leg in record.legs if leg.bridged] == [A]
    assert harness.twilio.messages == []


@pytest.mark.settings(FORWARD_TO=THREE)
async def test_three_phones_every_one_silent_or_away_is_a_missed_call(harness: Harness) -> None:
    record = await ring(harness, {A: "voicemail", B: "voicemail", C: "voicemail"})

    # Each phone that answered silently is left out of the next round; none is left after three.
    assert rounds(record) == [[A, B, C], [B, C], [C]]
    assert record.heard == [TEXTING]
    assert len(harness.twilio.messages_to(CALLER)) == 1


@pytest.mark.settings(FORWARD_TO=TWO)
async def test_a_caller_who_hung_up_during_the_prompt_is_missed_not_rung_again(
    harness: Harness,
) -> None:
    parent = new_sid("CA")
    await harness.twilio_post(
        f"/twilio/voice/screen?parent={parent}&line=default",
        {"CallSid": new_sid("CA"), "From": BUSINESS_NUMBER, "To": A},
    )
    response = await harness.missed_call(
        call_sid=parent, status="completed", DialBridged="false", CallStatus="completed"
    )
    body = await response.text()
    assert "<Dial" not in body
    await harness.drained()
    assert len(harness.twilio.messages_to(CALLER)) == 1


def test_the_next_round_leaves_out_every_phone_that_answered_silently() -> None:
    assert next_round((A, B, C), set()) == ()  # nobody answered silently: no next round
    assert next_round((A, B, C), {A}) == (B, C)
    assert next_round((A, B, C), {A, C}) == (B,)
    assert next_round((A, B), {A, B}) == ()


@pytest.mark.settings(FORWARD_TO=TWO)
async def test_the_next_round_follows_the_screens_that_ran_not_the_dial_status(
    harness: Harness,
) -> None:
    """What Twilio reports after a screen hung up is unconfirmed (PLATFORM.md): a phone that
    answered and pressed nothing rings the others again whatever DialCallStatus says, and a round
    without a new silent answer rings nobody again."""
    parent = new_sid("CA")
    await harness.twilio_post(
        f"/twilio/voice/screen?parent={parent}&line=default",
        {"CallSid": new_sid("CA"), "From": BUSINESS_NUMBER, "To": A},
    )
    first = await harness.missed_call(call_sid=parent, status="no-answer", CallStatus="in-progress")
    dial = twiml(await first.text()).find("Dial")
    assert dial is not None and [n.text for n in dial.findall("Number")] == [B]

    second = await harness.missed_call(
        call_sid=parent, status="no-answer", CallStatus="in-progress"
    )
    assert "<Dial" not in await second.text()  # B didn't answer either: missed
    await harness.drained()
    assert len(harness.twilio.messages_to(CALLER)) == 1
