"""Calling a caller back from Slack: the crew member's phone rings from the business number, a key
press dials the caller, and the thread says how it went.

The Slack simulator delivers the taps and commands; the Twilio simulator places the call through
the Calls API and walks our TwiML on both phones.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.domain import call_backs
from bot.domain.phone import spoken
from bot.flows.leads import business_day
from tests.calling import CREW_PHONE, documents, live, settle, tap, thread_lines
from tests.conftest import (
    BUSINESS_NUMBER,
    CALLER,
    CHANNEL,
    CREW_USER,
    Clock,
    Harness,
    cards,
    slash_command,
    start_harness,
    thread,
)
from tests.lead_helpers import buttons, open_lead, state_line, wait_state
from tests.standins import SlackStandIn, TwilioStandIn
from tests.waiting import wait_until

OTHER_USER = "U0OTHER"
CALL_BACK = "lead_call_back"


async def register(harness: Harness, phone: str = CREW_PHONE, user: str = CREW_USER) -> str:
    response = await slash_command(harness, f"me phone {phone}", user_id=user)
    assert response.status == 200
    return await response.text()


async def called_back_lead(harness: Harness, crew: str = "answer-and-press") -> str:
    """A texted lead whose card the crew member (phone registered) is about to tap."""
    live(harness)
    await register(harness)
    harness.twilio.voice.phones[CREW_PHONE] = crew  # type: ignore[assignment]
    return await open_lead(harness)


# --- /textback me -------------------------------------------------------------------------------


async def test_me_phone_registers_shows_and_removes_the_crew_members_phone(
    harness: Harness,
) -> None:
    assert "No phone registered" in await (await slash_command(harness, "me")).text()

    saved = await register(harness, "(202) 555-0177")
    assert "Saved" in saved and "(202) 555-0177" in saved
    assert await harness.services.crew.phone(CREW_USER) == CREW_PHONE
    shown = await (await slash_command(harness, "me")).text()
    assert "(202) 555-0177" in shown

    removed = await (await slash_command(harness, "me phone off")).text()
    assert "Removed (202) 555-0177" in removed
    assert await harness.services.crew.phone(CREW_USER) is None


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("me phone 555", "not a phone number"),
        ("me phone", "Usage"),
        ("me tablet 2025550177", "Usage"),
    ],
)
async def test_me_phone_refuses_what_it_cannot_call(
    harness: Harness, typed: str, answer: str
) -> None:
    text = await (await slash_command(harness, typed)).text()
    assert answer in text
    assert await harness.services.crew.phone(CREW_USER) is None


async def test_me_phone_refuses_one_of_the_business_numbers(
    clean_env: None,
    redis: Redis,
    redis_url: str,
    key_prefix: str,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    clock: Clock,
    tmp_path: Path,
) -> None:
    lines = tmp_path / "lines.toml"
    lines.write_text(
        '[[line]]\nid = "uptown"\nnumbers = ["+12025550199"]\nname = "Acme Uptown"\n'
        'channel = "C0UPTOWN01"\n'
    )
    h = await start_harness(redis_url, key_prefix, slack, twilio, clock, lines_file=str(lines))
    try:
        text = await (await slash_command(h, "me phone (202) 555-0199")).text()
        assert "business's own numbers" in text
        assert await h.services.crew.phone(CREW_USER) is None
    finally:
        await h.client.close()


async def test_each_crew_member_registers_their_own_phone(harness: Harness) -> None:
    harness.slack.add_user(OTHER_USER, "Olive Other")  # joined after the app listed the members
    await register(harness, CREW_PHONE)
    await register(harness, "+12025550166", user=OTHER_USER)  # answered after Slack says who
    assert await harness.services.crew.phone(CREW_USER) == CREW_PHONE
    assert await wait_until(lambda: harness.services.crew.phone(OTHER_USER)) == "+12025550166"


# --- the button ---------------------------------------------------------------------------------


async def test_call_back_without_a_registered_phone_tells_only_the_tapper_how(
    harness: Harness,
) -> None:
    live(harness)
    ts = await open_lead(harness)

    await tap(harness, ts, CALL_BACK)
    await settle(harness)

    [told] = harness.slack.ephemerals
    assert (told["channel"], told["user"]) == (CHANNEL, CREW_USER)
    assert "/textback me phone" in told["text"]
    assert harness.twilio.voice.api_calls == []
    assert thread(harness, ts) == []


async def test_call_back_rings_the_crew_phone_then_dials_the_caller_from_the_business_number(
    harness: Harness,
) -> None:
    ts = await called_back_lead(harness)
    harness.twilio.voice.phones[CALLER] = "answer-and-press"

    await tap(harness, ts, CALL_BACK)
    await wait_until(lambda: harness.twilio.voice.api_calls, message="no call placed")
    await settle(harness)

    [placed] = harness.twilio.voice.api_calls
    # The crew member's phone rings first, from the business number.
    assert (placed["To"], placed["From"]) == (CREW_PHONE, BUSINESS_NUMBER)
    record = placed["record"]
    [answer] = documents(record, "/twilio/call-back/answer")
    assert [verb.tag for verb in answer] == ["Gather", "Hangup"]  # no key: nobody is called
    gather = answer[0]
    assert gather.get("numDigits") == "1"
    assert gather.findtext("Say") == (
        f"Call for Johnson Electric: calling {spoken(CALLER)}. Press any key to connect."
    )
    [connect] = documents(record, "/twilio/call-back/connect")
    dial = connect.find("Dial")
    assert dial is not None
    assert dial.get("callerId") == BUSINESS_NUMBER  # the caller sees the number they called
    assert dial.get("timeLimit") == "3600"
    assert [n.text for n in dial.findall("Number")] == [CALLER]
    assert [(leg.number, leg.status, leg.bridged) for leg in record.legs] == [
        (CALLER, "completed", True)
    ]
    # The thread says it, from the caller's leg (42 s is how long the simulator's calls last).
    lines = await thread_lines(harness, ts, 1)
    assert lines == [f":telephone_receiver: <@{CREW_USER}> called back · 42 s"]
    assert "Called back by <@U0CREW>" in await wait_state(harness, ts, "Called back")
    [ringing] = harness.slack.ephemerals
    assert ringing["user"] == CREW_USER and "(202) 555-0177" in ringing["text"]


async def test_the_crew_members_voicemail_never_calls_the_caller(harness: Harness) -> None:
    ts = await called_back_lead(harness, crew="voicemail")

    await tap(harness, ts, CALL_BACK)
    await wait_until(lambda: harness.twilio.voice.api_calls, message="no call placed")
    await settle(harness)

    record = harness.twilio.voice.api_calls[0]["record"]
    assert documents(record, "/twilio/call-back/connect") == []
    assert record.legs == []  # the caller's phone never rang
    [line] = await thread_lines(harness, ts, 1)
    assert "tried to call back" in line and "no key was pressed" in line
    assert "Texted" in state_line(harness, ts)


async def test_the_crew_members_phone_not_answering_is_told_in_the_thread(
    harness: Harness,
) -> None:
    ts = await called_back_lead(harness, crew="no-answer")

    await tap(harness, ts, CALL_BACK)
    await wait_until(lambda: harness.twilio.voice.api_calls, message="no call placed")
    await settle(harness)

    [line] = await thread_lines(harness, ts, 1)
    assert line == (
        f":telephone_receiver: <@{CREW_USER}> tried to call back: "
        "your phone didn't answer, so they weren't called"
    )


@pytest.mark.parametrize(
    ("caller_does", "told"),
    [
        ("no-answer", "tried to call back: no answer"),
        ("busy", "tried to call back: the line was busy"),
        ("failed", "tried to call back: the call could not be connected"),
    ],
)
async def test_each_way_the_callers_leg_ends_is_told_in_plain_words(
    harness: Harness, caller_does: str, told: str
) -> None:
    ts = await called_back_lead(harness)
    harness.twilio.voice.phones[CALLER] = caller_does  # type: ignore[assignment]

    await tap(harness, ts, CALL_BACK)
    await wait_until(lambda: harness.twilio.voice.api_calls, message="no call placed")
    await settle(harness)

    [line] = await thread_lines(harness, ts, 1)
    assert line.startswith(f":telephone_receiver: <@{CREW_USER}> {told}")
    # Not reached: not an answer. The card still waits for one.
    assert "Called back" not in state_line(harness, ts)
    # The crew member heard it too, before the call ended.
    record = harness.twilio.voice.api_calls[0]["record"]
    [dialled] = documents(record, "/twilio/call-back/dialled")
    assert dialled.findtext("Say") == call_backs.spoken_result(caller_does)


async def test_two_taps_within_seconds_place_one_call(harness: Harness) -> None:
    ts = await called_back_lead(harness)
    harness.twilio.voice.phones[CALLER] = "answer-and-press"

    await asyncio.gather(tap(harness, ts, CALL_BACK), tap(harness, ts, CALL_BACK))
    await wait_until(lambda: harness.twilio.voice.api_calls, message="no call placed")
    await settle(harness)

    assert len(harness.twilio.voice.api_calls) == 1
    assert len(await thread_lines(harness, ts, 1)) == 1
    # Once that call is over the caller may be called again.
    await tap(harness, ts, CALL_BACK)
    await wait_until(lambda: len(harness.twilio.voice.api_calls) == 2, message="no second call")
    await settle(harness)
    assert len(thread(harness, ts)) == 2


async def test_a_second_crew_member_is_told_someone_is_already_calling(
    harness: Harness,
) -> None:
    ts = await called_back_lead(harness)
    # A member who joined after the app listed them: answered, and saved, after users.info.
    harness.slack.add_user(OTHER_USER, "Olive Other")
    await register(harness, "+12025550166", user=OTHER_USER)
    await wait_until(lambda: harness.services.crew.phone(OTHER_USER), message="not registered")
    # The first crew member's call is under way (their tap holds the caller).
    assert await harness.services.call_backs.hold(CALLER, CREW_USER, 60) is None

    await tap(harness, ts, CALL_BACK, user=OTHER_USER)
    await settle(harness)

    assert harness.twilio.voice.api_calls == []
    [told] = harness.slack.ephemerals
    assert told["user"] == OTHER_USER
    assert f"<@{CREW_USER}> is calling this caller back right now" in told["text"]


async def test_a_twilio_refusal_is_explained_in_the_thread_like_a_failed_text(
    harness: Harness,
) -> None:
    ts = await called_back_lead(harness)
    harness.twilio.voice.fail_calls_to(CREW_PHONE)  # 21215: geographic permissions

    await tap(harness, ts, CALL_BACK)
    [line] = await thread_lines(harness, ts, 1)
    await settle(harness)

    assert line == (
        f":warning: Call back not placed (<@{CREW_USER}>): the Twilio account's geographic "
        "permissions do not allow calls to that number (Twilio error 21215)."
    )
    assert harness.twilio.voice.api_calls == []
    # Nothing holds the caller: fixing the permission and tapping again calls.
    harness.twilio.voice._refusals.clear()
    await tap(harness, ts, CALL_BACK)
    await wait_until(lambda: harness.twilio.voice.api_calls, message="no call after the fix")


async def test_twilio_trouble_placing_the_call_is_retried_and_rings_once(
    harness: Harness,
) -> None:
    ts = await called_back_lead(harness)
    harness.twilio.voice.phones[CALLER] = "answer-and-press"
    harness.twilio.voice.fail_calls_to(CREW_PHONE, code=20503, status=503, times=1)

    await tap(harness, ts, CALL_BACK)
    await wait_until(lambda: harness.twilio.voice.api_calls, timeout=15, message="never placed")
    await settle(harness)

    assert len(harness.twilio.voice.api_calls) == 1
    assert (await thread_lines(harness, ts, 1))[0].endswith("called back · 42 s")


@pytest.mark.parametrize("why_no_text", ["opted_out", "excluded"])
async def test_a_caller_who_gets_no_texts_can_still_be_called_back(
    harness: Harness, why_no_text: str
) -> None:
    live(harness)
    await register(harness)
    harness.twilio.voice.phones[CREW_PHONE] = "answer-and-press"
    harness.twilio.voice.phones[CALLER] = "answer-and-press"
    if why_no_text == "opted_out":
        await harness.services.callers.record_opt_out(CALLER, "default", harness.clock())
    else:
        await harness.services.callers.exclude(CALLER, "default", "supplier")
    await harness.missed_call()
    ts = await wait_until(lambda: cards(harness) and cards(harness)[0]["ts"], message="no card")
    await harness.drained()
    assert harness.twilio.messages == []
    assert CALL_BACK in buttons(harness, ts)

    await tap(harness, ts, CALL_BACK)
    await wait_until(lambda: harness.twilio.voice.api_calls, message="no call placed")
    await settle(harness)

    assert (await thread_lines(harness, ts, 1))[0].endswith("called back · 42 s")


async def test_a_hidden_caller_has_no_call_back_button(harness: Harness) -> None:
    await harness.missed_call(caller="anonymous")
    await harness.drained()
    [notice] = cards(harness)
    assert "hidden" in notice["text"]
    assert not notice.get("blocks")


async def test_a_connected_call_back_is_the_crews_answer_for_reminders_and_stats(
    harness: Harness,
) -> None:
    ts = await called_back_lead(harness)
    harness.twilio.voice.phones[CALLER] = "answer-and-press"
    await harness.caller_text("Can you call me? Basement outlet is dead.")
    await wait_state(harness, ts, "Replied")
    lead_id = (await harness.services.callers.caller(CALLER, "default"))["lead_id"]
    assert await harness.services.leads.waiting_since(CALLER, lead_id) is not None

    await tap(harness, ts, CALL_BACK)
    await wait_until(lambda: harness.twilio.voice.api_calls, message="no call placed")
    await settle(harness)

    await wait_state(harness, ts, "Called back by")
    assert await harness.services.leads.waiting_since(CALLER, lead_id) is None  # clock stopped
    assert await harness.services.leads.due_reminders(harness.clock() + 86_400) == []
    day = await business_day(harness.services, "default", harness.clock())
    [(_, answer_times)] = await harness.services.stats.days("default", [day])
    assert len(answer_times) == 1  # the time to first answer counts the call


# --- the words ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(42, "42 s"), (60, "1 min"), (151, "2 min 31 s"), (3600, "1 h"), (3720, "1 h 2 min")],
)
def test_call_lengths_read_naturally(seconds: int, shown: str) -> None:
    assert call_backs.duration(seconds) == shown


def test_the_crew_hears_the_callers_name_or_their_number_digit_by_digit() -> None:
    assert call_backs.callee(CALLER, "MARIA GOMEZ") == "MARIA GOMEZ"
    assert call_backs.callee(CALLER, None) == "2 0 2, 5 5 5, 0 1 2 3"
    assert call_backs.callee(CALLER, "+1202555") == "2 0 2, 5 5 5, 0 1 2 3"  # a number as name
