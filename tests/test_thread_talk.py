"""The thread is safe to talk in: notes for the crew stay inside, a reply can be taken back for a
moment, and typed emoji reach the caller as emoji.

Everything goes through the Slack simulator as Slack sends it (`people.send_message`, with
mentions as `<@U…>` and typed emoji as `:shortcode:`; edits as message_changed, deletions as
message_deleted), to the real app with a real Redis; texts are read off the Twilio simulator.
The undo window is closed by moving the app's clock, not by waiting it out.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bot.domain import plans
from bot.domain.jobs import Job, SendSms, SlackThread
from bot.flows.crew_replies import CANCELLED, NOTE_EDITED, TOO_LATE_DELETE, TOO_LATE_EDIT
from tests.conftest import BUSINESS_NUMBER, CALLER, CHANNEL, CREW_USER, Harness, card_ts
from tests.waiting import wait_until

UNDO = 60  # the window in these tests; closed by advancing the clock
MIKE = "U0MIKE"


async def open_lead(h: Harness) -> str:
    """A missed call, texted back, its card posted; returns the card's ts."""
    await h.missed_call()
    card = await wait_until(lambda: card_ts(h), message="no lead card")
    await h.drained()
    return card


async def say(h: Harness, card: str, text: str, user: str = CREW_USER) -> str:
    """A crew member posts `text` in the card's thread; returns the message's ts."""
    delivery = await h.slack.people.send_message(user, CHANNEL, text, thread_ts=card)
    assert delivery.ok, delivery.text
    return str(delivery.payload["event"]["ts"])


def texted(h: Harness) -> list[str]:
    """What the caller got from us after the auto-text."""
    return [m["Body"] for m in h.twilio.messages_to(CALLER)[1:]]


def marks(h: Harness, ts: str) -> set[str]:
    """The bot's reactions on a message, as Slack shows them now."""
    return {name for channel, at, name in h.slack.workspace.reactions if at == ts}


def in_thread(h: Harness, card: str) -> list[str]:
    return [str(m.get("text", "")) for m in h.slack.thread_messages(CHANNEL, card)]


def card_hint(h: Harness, card: str) -> str:
    blocks = h.slack.messages[(CHANNEL, card)].get("blocks") or []
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    return str(blocks[-1]["elements"][0]["text"])


async def window_closes(h: Harness) -> None:
    h.clock.advance(UNDO + 1)
    await h.drained()


# --- notes for the crew --------------------------------------------------------------------

NOTES = {
    "teammate": f"<@{MIKE}> can you take this one? I am on a roof :+1:",
    "teammate_mid_sentence": f"on a roof, <@{MIKE}> can you call them back",
    "user_group": "<!subteam^S0SPARKS> who is near Garrity Blvd?",
    "here": "<!here> anyone free this afternoon?",
    "slashes": "// caller sounds upset, call back first",
}


@pytest.mark.parametrize("text", NOTES.values(), ids=NOTES.keys())
async def test_a_message_to_the_crew_stays_in_slack_under_a_lock(live: Harness, text: str) -> None:
    card = await open_lead(live)

    note = await say(live, card, text)
    await wait_until(lambda: "lock" in marks(live, note), message="the note got no lock")
    await say(live, card, "Be there at 5")  # a control reply, texted
    await wait_until(lambda: texted(live), message="the control reply was not texted")
    await live.drained()

    assert texted(live) == ["Be there at 5"]


async def test_mentioning_the_bot_is_still_a_reply_to_the_caller(live: Harness) -> None:
    card = await open_lead(live)

    await say(live, card, "<@U0TEXTBACK> Thanks, see you Tuesday")

    assert await wait_until(lambda: texted(live)) == ["Thanks, see you Tuesday"]


async def test_the_card_says_what_stays_in_slack(live: Harness) -> None:
    card = await open_lead(live)

    assert "`//`" in card_hint(live, card)
    assert "mentions a teammate stays in Slack" in card_hint(live, card)


# --- emoji ---------------------------------------------------------------------------------


async def test_typed_emoji_reach_the_caller_as_emoji_and_unknown_codes_as_typed(
    live: Harness,
) -> None:
    card = await open_lead(live)

    await say(live, card, "See you at 3 :+1::skin-tone-2: :wave: :partyparrot:")

    sent = await wait_until(lambda: texted(live), message="reply not texted")
    assert sent == ["See you at 3 \U0001f44d\U0001f3fb \U0001f44b :partyparrot:"]


async def test_the_thread_says_when_emoji_made_the_text_cost_more(live: Harness) -> None:
    card = await open_lead(live)
    words = "Thanks for the photos, the panel needs a new breaker and we can come Tuesday"

    await say(live, card, f"{words} morning :+1:")
    await say(live, card, f"{words} afternoon.")

    await wait_until(lambda: len(texted(live)) == 2, message="replies not texted")
    note = await wait_until(
        lambda: [t for t in in_thread(live, card) if "UCS-2" in t], message="no cost note"
    )
    await live.drained()
    assert len(note) == 1
    assert "\U0001f44d" in note[0]
    assert "2 segments instead of 1" in note[0]


# --- the undo window -----------------------------------------------------------------------


@pytest.mark.settings(REPLY_UNDO_SECONDS=UNDO)
async def test_a_reply_waits_under_an_hourglass_then_goes_with_a_check_mark(
    live: Harness,
) -> None:
    card = await open_lead(live)

    ts = await say(live, card, "Be there at 5")
    await wait_until(lambda: plans.WAITING in marks(live, ts), message="no hourglass on the reply")
    assert texted(live) == []
    assert "waits 60 s" in card_hint(live, card)

    await window_closes(live)

    assert texted(live) == ["Be there at 5"]
    assert marks(live, ts) == {"white_check_mark"}  # the hourglass came off


@pytest.mark.settings(REPLY_UNDO_SECONDS=UNDO)
async def test_an_hourglass_held_up_past_the_window_is_never_put_on_a_sent_reply(
    live: Harness,
) -> None:
    card = await open_lead(live)
    live.slack.fail("reactions.add", 429, retry_after=2 * UNDO)  # the hourglass waits 2 min

    ts = await say(live, card, "Be there at 5")
    live.clock.advance(UNDO + 1)
    await wait_until(lambda: "white_check_mark" in marks(live, ts), message="no check mark")
    live.clock.advance(2 * UNDO)  # the hourglass's retry comes due
    await live.drained()

    assert texted(live) == ["Be there at 5"]
    assert marks(live, ts) == {"white_check_mark"}


@pytest.mark.settings(REPLY_UNDO_SECONDS=UNDO)
async def test_deleting_a_reply_inside_the_window_cancels_the_text(live: Harness) -> None:
    card = await open_lead(live)
    ts = await say(live, card, "Wrong thread, sorry")

    deleted = await live.slack.people.delete_message(CHANNEL, ts)
    await window_closes(live)

    assert deleted.ok
    assert texted(live) == []
    assert CANCELLED in in_thread(live, card)


@pytest.mark.settings(REPLY_UNDO_SECONDS=UNDO)
async def test_editing_a_reply_inside_the_window_sends_the_edited_words(live: Harness) -> None:
    card = await open_lead(live)
    ts = await say(live, card, "Be there at 5")

    await live.slack.people.edit_message(CHANNEL, ts, "Be there at 6 :+1:")
    await window_closes(live)

    assert texted(live) == ["Be there at 6 \U0001f44d"]
    assert marks(live, ts) == {"white_check_mark"}


@pytest.mark.settings(REPLY_UNDO_SECONDS=UNDO)
async def test_an_edit_that_mentions_a_teammate_keeps_the_reply_inside(live: Harness) -> None:
    card = await open_lead(live)
    ts = await say(live, card, "Can we come Tuesday?")

    await live.slack.people.edit_message(CHANNEL, ts, f"<@{MIKE}> can we come Tuesday?")
    await window_closes(live)

    assert texted(live) == []
    assert marks(live, ts) == {"lock"}


@pytest.mark.settings(REPLY_UNDO_SECONDS=UNDO)
async def test_after_the_window_an_edit_or_delete_changes_nothing_and_the_thread_says_so(
    live: Harness,
) -> None:
    card = await open_lead(live)
    ts = await say(live, card, "Be there at 5")
    await window_closes(live)

    await live.slack.people.edit_message(CHANNEL, ts, "Be there at 6")
    await live.slack.people.delete_message(CHANNEL, ts)
    await live.drained()

    assert texted(live) == ["Be there at 5"]
    thread = in_thread(live, card)
    assert TOO_LATE_EDIT in thread
    assert TOO_LATE_DELETE in thread


async def test_without_the_window_an_edit_after_the_text_is_told_too(live: Harness) -> None:
    card = await open_lead(live)
    ts = await say(live, card, "Be there at 5")
    await wait_until(lambda: texted(live), message="reply not texted")

    await live.slack.people.edit_message(CHANNEL, ts, "Be there at 6")
    await live.drained()

    assert texted(live) == ["Be there at 5"]
    assert TOO_LATE_EDIT in in_thread(live, card)


async def test_editing_a_note_into_words_for_the_caller_does_not_text_it(live: Harness) -> None:
    card = await open_lead(live)
    ts = await say(live, card, f"<@{MIKE}> tell them we can come at 5")

    await live.slack.people.edit_message(CHANNEL, ts, "We can come at 5")
    await live.drained()

    assert texted(live) == []
    assert NOTE_EDITED in in_thread(live, card)


@pytest.mark.settings(REPLY_UNDO_SECONDS=UNDO)
async def test_an_edit_unfurling_nothing_new_changes_nothing(live: Harness) -> None:
    """Slack sends message_changed when a link unfurls too: the same words, no notice."""
    card = await open_lead(live)
    ts = await say(live, card, "Book at <https://example.com/book>")
    await window_closes(live)

    await live.slack.people.edit_message(CHANNEL, ts, "Book at <https://example.com/book>")
    await live.drained()

    assert texted(live) == ["Book at https://example.com/book"]
    assert TOO_LATE_EDIT not in in_thread(live, card)


@pytest.mark.settings(REPLY_UNDO_SECONDS=UNDO)
async def test_a_deleted_reply_leaves_the_caller_waiting_for_a_reminder(live: Harness) -> None:
    card = await open_lead(live)
    await live.twilio.text_in(CALLER, BUSINESS_NUMBER, "Can you come today?")
    await live.drained()
    ts = await say(live, card, "Yes")

    await live.slack.people.delete_message(CHANNEL, ts)
    live.clock.advance(11 * 60)

    reminder = await wait_until(
        lambda: [t for t in in_thread(live, card) if ":alarm_clock:" in t],
        timeout=15,
        message="no reminder after the reply was taken back",
    )
    assert reminder


@pytest.mark.settings(REPLY_UNDO_SECONDS=UNDO)
async def test_an_edit_that_arrives_before_its_message_sends_the_edited_words_once(
    live: Harness,
) -> None:
    """Slack does not promise the order of events: the edit's may come first."""
    card = await open_lead(live)
    live.slack.bot_events.discard("message.channels")  # the message's own event is held back
    original = await live.slack.people.send_message(CREW_USER, CHANNEL, "At 5", thread_ts=card)
    live.slack.bot_events.add("message.channels")
    ts = original.payload["event"]["ts"]

    await live.slack.people.edit_message(CHANNEL, ts, "At 6")
    late = await live.slack.events.redeliver(original)  # and now it comes
    await window_closes(live)

    assert late.ok
    assert texted(live) == ["At 6"]


@pytest.mark.settings(REPLY_UNDO_SECONDS=UNDO)
@pytest.mark.parametrize("change", ["note", "delete"])
async def test_a_note_or_deletion_that_arrives_before_its_message_keeps_it_from_the_caller(
    live: Harness, change: str
) -> None:
    card = await open_lead(live)
    live.slack.bot_events.discard("message.channels")
    original = await live.slack.people.send_message(CREW_USER, CHANNEL, "At 5", thread_ts=card)
    live.slack.bot_events.add("message.channels")
    ts = original.payload["event"]["ts"]

    if change == "note":
        await live.slack.people.edit_message(CHANNEL, ts, f"<@{MIKE}> at 5?")
    else:
        await live.slack.people.delete_message(CHANNEL, ts)
    await live.slack.events.redeliver(original)
    await window_closes(live)

    assert texted(live) == []
    if change == "note":
        assert marks(live, ts) == {"lock"}


@pytest.mark.settings(REPLY_UNDO_SECONDS=UNDO)
async def test_slacks_retries_of_an_edit_and_a_deletion_change_once(live: Harness) -> None:
    card = await open_lead(live)
    ts = await say(live, card, "At 5")
    edit = await live.slack.people.edit_message(CHANNEL, ts, "At 6")
    await live.slack.events.redeliver(edit)

    deletion = await live.slack.people.delete_message(CHANNEL, ts)
    await live.slack.events.redeliver(deletion)
    await window_closes(live)

    assert texted(live) == []
    assert in_thread(live, card).count(CANCELLED) == 1


# --- the races, on the outbox itself (real Redis) -----------------------------------------------


def _reply_job(body: str) -> Job:
    sms = SendSms(
        to=CALLER,
        from_=BUSINESS_NUMBER,
        body=body,
        purpose="crew reply",
        line="default",
        report_to=SlackThread(CHANNEL, "1.0"),
        held=True,
    )
    return Job("reply:C0LEADS:2.0", sms)


async def held_bodies(h: Harness) -> list[str]:
    raw = await h.services.redis.zrange(h.services.keys.retry("sms"), 0, -1)
    bodies = []
    for member in raw:
        payload = Job.from_json(member).payload
        assert isinstance(payload, SendSms)
        bodies.append(payload.body)
    return bodies


@pytest.mark.settings(RUN_WORKER=False)
async def test_an_edit_as_the_window_closes_lands_before_the_text_leaves_or_is_told_late(
    harness: Harness,
) -> None:
    outbox, now = harness.services.outbox, harness.clock()
    assert await outbox.hold(CHANNEL, "2.0", _reply_job("At 5"), now - 1, UNDO) == "held"

    edit = outbox.change_held(CHANNEL, "2.0", "edit", UNDO, replacement=_reply_job("At 6"))
    outcome, promoted = await asyncio.gather(edit, outbox.promote_due("sms", now))

    stream = await harness.services.redis.xrange(harness.services.keys.stream("sms"))
    sent = [Job.from_json(entry[1]["job"]).payload for entry in stream]
    assert promoted == 1 and len(sent) == 1 and await held_bodies(harness) == []
    assert isinstance(sent[0], SendSms)
    assert (outcome, sent[0].body) in (("changed", "At 6"), ("gone", "At 5"))


@pytest.mark.settings(RUN_WORKER=False)
async def test_two_processes_changing_one_held_reply_at_once_apply_one_after_the_other(
    harness: Harness,
) -> None:
    outbox = harness.services.outbox
    await outbox.hold(CHANNEL, "2.0", _reply_job("At 5"), harness.clock() + UNDO, UNDO)

    outcomes: list[Any] = await asyncio.gather(
        outbox.change_held(CHANNEL, "2.0", "edit", UNDO, replacement=_reply_job("At 6")),
        outbox.change_held(CHANNEL, "2.0", "delete", UNDO),
        outbox.change_held(CHANNEL, "2.0", "edit", UNDO, replacement=_reply_job("At 7")),
    )

    assert outcomes.count("cancelled") == 1
    assert await held_bodies(harness) == []  # whatever came first, the deletion wins
    assert await outbox.hold(CHANNEL, "2.0", _reply_job("At 5"), 0, UNDO) == "cancelled"
