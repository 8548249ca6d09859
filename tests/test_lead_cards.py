"""The lead card: Block Kit state updated in place, buttons and reactions, the claimer pinged."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.domain import cards
from bot.domain.leads import LeadState
from bot.outbox.worker import Worker
from tests.conftest import CALLER, CHANNEL, CREW_USER, Harness, card_ts
from tests.lead_helpers import (
    blocks_of,
    buttons,
    click,
    open_lead,
    react,
    state_line,
    wait_state,
)
from tests.waiting import wait_until

OTHER_USER = "U0OTHER"


async def test_card_is_block_kit_with_state_buttons_confirm_and_call_back_button(
    harness: Harness,
) -> None:
    ts = await open_lead(harness)

    message = harness.slack.messages[(CHANNEL, ts)]
    assert "Missed call" in message["text"]  # the plain fallback for notifications
    assert "Texted" in state_line(harness, ts)
    # Calling back goes out from the business number (a button), not the crew's own mobile.
    assert "tel:" not in state_line(harness, ts)
    found = buttons(harness, ts)
    assert list(found) == [
        "lead_claim",
        "lead_book",
        "lead_close",
        "lead_call_back",
        "lead_exclude",
    ]
    assert found["lead_call_back"]["value"] == f"{CALLER}|default"
    assert found["lead_exclude"]["confirm"]["confirm"]["text"] == "Exclude"
    assert len([m for m in harness.slack.messages.values() if not m.get("thread_ts")]) == 1


async def test_card_waits_for_its_text_so_it_is_posted_showing_texted(harness: Harness) -> None:
    harness.twilio.latency = 0.3  # Twilio answers well after Slack could have taken the card

    ts = await open_lead(harness)

    [card] = [p for p in harness.slack.posts if not p.get("thread_ts")]
    assert "Texted" in json.dumps(card["blocks"])  # as first posted, not after an update
    assert harness.slack.calls_to("chat.update") == []  # chat.update's budget is not spent
    assert "Texted" in state_line(harness, ts)


@pytest.mark.settings(CARD_WAITS_FOR_TEXT_SECONDS=0.3)
async def test_card_waits_only_so_long_for_a_slow_text_then_is_updated_in_place(
    harness: Harness,
) -> None:
    harness.twilio.latency = 2.0  # the text takes longer than the card waits for it

    ts = await open_lead(harness)

    [card] = [p for p in harness.slack.posts if not p.get("thread_ts")]
    assert "Texted" not in json.dumps(card["blocks"])  # posted before Twilio answered
    assert harness.slack.calls_to("chat.update")  # New -> Texted happened in place
    assert "Texted" in state_line(harness, ts)


@pytest.mark.settings(CARD_WAITS_FOR_TEXT_SECONDS=0)
async def test_with_no_wait_the_card_goes_at_once_and_is_updated_when_the_text_is_out(
    harness: Harness,
) -> None:
    harness.twilio.latency = 1.0

    ts = await open_lead(harness)

    [card] = [p for p in harness.slack.posts if not p.get("thread_ts")]
    assert "Texted" not in json.dumps(card["blocks"])
    assert harness.slack.calls_to("chat.update")
    assert "Texted" in state_line(harness, ts)


@pytest.mark.settings(CARD_WAITS_FOR_TEXT_SECONDS=60)
async def test_a_text_held_up_by_twilio_does_not_hold_up_its_card(harness: Harness) -> None:
    harness.twilio.fail_next(times=1000, status=500)  # Twilio down: the text waits for retries

    response = await harness.missed_call()

    assert response.status == 200
    await wait_until(lambda: card_ts(harness), timeout=10, message="card waited for the text")
    assert harness.twilio.messages == []


@pytest.mark.settings(run_worker=False, CARD_WAITS_FOR_TEXT_SECONDS=0.3)
async def test_card_is_posted_when_no_worker_takes_its_text(harness: Harness) -> None:
    slack_only = Worker(harness.services, queues=("slack",))  # the sms worker is down
    running = asyncio.create_task(slack_only.run())
    try:
        response = await harness.missed_call()
        assert response.status == 200
        ts = await wait_until(lambda: card_ts(harness), timeout=10, message="no card")
    finally:
        await slack_only.shutdown(running)
    assert "Texted" not in state_line(harness, ts)
    assert harness.twilio.messages == []


async def test_card_posted_after_the_text_went_out_shows_texted_without_an_update(
    harness: Harness,
) -> None:
    # The card's first post fails, so it renders again on its retry: after the text went out.
    harness.slack.fail("chat.postMessage", 500)
    ts = await open_lead(harness)

    assert "Texted" in state_line(harness, ts)
    assert harness.slack.calls_to("chat.update") == []  # chat.update's budget is not spent


async def test_claim_button_shows_claimed_by_the_clicker(harness: Harness) -> None:
    ts = await open_lead(harness)

    response = await click(harness, ts, "lead_claim")

    assert response.status == 200
    assert await wait_state(harness, ts, f"Claimed by <@{CREW_USER}>")
    assert "lead_claim" not in buttons(harness, ts)
    assert len([m for m in harness.slack.messages.values() if not m.get("thread_ts")]) == 1


async def test_mark_booked_then_close_buttons_update_the_card(harness: Harness) -> None:
    ts = await open_lead(harness)

    await click(harness, ts, "lead_claim", user=OTHER_USER)
    await wait_state(harness, ts, f"Claimed by <@{OTHER_USER}>")
    await click(harness, ts, "lead_book")
    assert await wait_state(harness, ts, f"Booked by <@{CREW_USER}>")
    await click(harness, ts, "lead_close")
    assert await wait_state(harness, ts, "Closed by")


@pytest.mark.settings(ADMIN_USER_IDS=CREW_USER)  # excluding a number is for admins
async def test_exclude_button_excludes_the_number_so_later_calls_get_no_text(
    harness: Harness,
) -> None:
    ts = await open_lead(harness)

    await click(harness, ts, "lead_exclude")

    await wait_state(harness, ts, "Closed")
    caller = await harness.services.callers.caller(CALLER, "default")
    assert "excluded" in caller
    harness.clock.advance(25 * 3600)  # past the one-text window
    await harness.missed_call()
    await harness.drained(timeout=20)
    assert len(harness.twilio.messages_to(CALLER)) == 1  # only the first auto-text
    assert any("exclusion list" in p["text"] for p in harness.slack.replies(ts))


async def test_button_ack_comes_back_before_slack_sees_the_card_update(
    harness: Harness,
) -> None:
    ts = await open_lead(harness)
    updates_before = harness.slack.calls_to("chat.update")
    harness.slack.latency = 1.0
    finished_before = len(harness.slack.finished)

    response = await click(harness, ts, "lead_claim")

    # Answered before any Slack call the click caused had come back from the slowed stand-in.
    assert response.status == 200
    assert "chat.update" not in harness.slack.finished[finished_before:]
    await wait_state(harness, ts, "Claimed by")
    assert len(harness.slack.calls_to("chat.update")) > len(updates_before)


async def test_clicks_on_a_message_that_is_not_a_card_change_nothing(harness: Harness) -> None:
    ts = await open_lead(harness)
    other = harness.slack.add_message(CHANNEL, "lunch?")
    updates = len(harness.slack.calls_to("chat.update"))

    response = await click(harness, other, "lead_claim")

    assert response.status == 200
    await harness.drained()
    assert len(harness.slack.calls_to("chat.update")) == updates
    assert "Texted" in state_line(harness, ts)


# --- reactions ---------------------------------------------------------------------------------


async def test_raising_hand_claims_and_removing_it_goes_back(harness: Harness) -> None:
    ts = await open_lead(harness)

    assert (await react(harness, ts, "raising_hand")).status == 200
    await wait_state(harness, ts, f"Claimed by <@{CREW_USER}>")
    assert (await react(harness, ts, "raising_hand", added=False)).status == 200
    assert await wait_state(harness, ts, "Texted")


async def test_eyes_claims_check_mark_books_x_closes_and_undo_restores(
    harness: Harness,
) -> None:
    ts = await open_lead(harness)

    await react(harness, ts, "eyes")
    await wait_state(harness, ts, "Claimed by")
    await react(harness, ts, "white_check_mark")
    await wait_state(harness, ts, "Booked by")
    await react(harness, ts, "white_check_mark", added=False)
    await wait_state(harness, ts, f"Claimed by <@{CREW_USER}>")
    await react(harness, ts, "x", user=OTHER_USER)
    assert await wait_state(harness, ts, f"Closed by <@{OTHER_USER}>")


async def test_reactions_elsewhere_or_by_the_bot_do_not_book(harness: Harness) -> None:
    ts = await open_lead(harness)
    reply = harness.slack.add_message(CHANNEL, "on it", thread_ts=ts)
    updates = len(harness.slack.calls_to("chat.update"))

    await react(harness, reply, "white_check_mark")  # the bot's ✅ on a relayed crew reply
    await react(harness, ts, "white_check_mark", user="U0TEXTBACK")  # the bot itself
    await react(harness, ts, "thumbsup")  # not one of ours

    # A claim afterwards is the only change the card sees.
    await react(harness, ts, "raising_hand")
    await wait_state(harness, ts, "Claimed by")
    await harness.drained()
    assert "Booked" not in state_line(harness, ts)
    assert len(harness.slack.calls_to("chat.update")) == updates + 1


@pytest.mark.settings(CLAIM_EMOJI="hammer", BOOK_EMOJI="moneybag", CLOSE_EMOJI="wastebasket")
async def test_the_emoji_set_is_configurable(harness: Harness) -> None:
    ts = await open_lead(harness)

    await react(harness, ts, "raising_hand")  # no longer a claim
    await react(harness, ts, "hammer")
    await wait_state(harness, ts, "Claimed by")
    await react(harness, ts, "moneybag")
    assert await wait_state(harness, ts, "Booked by")


# --- the claimer is pinged ---------------------------------------------------------------------


async def test_claimer_is_mentioned_on_each_new_caller_reply(harness: Harness) -> None:
    ts = await open_lead(harness)
    await click(harness, ts, "lead_claim")
    await wait_state(harness, ts, "Claimed by")

    await harness.caller_text("Can you come Tuesday?")
    await harness.caller_text("Or Wednesday")

    posts = await wait_until(
        lambda: [p["text"] for p in harness.slack.replies(ts) if "Caller" in p["text"]][1:] or None,
        timeout=15,
    )
    assert all(f"<@{CREW_USER}>" in p for p in posts)
    assert "Wednesday" in posts[-1]


async def test_caller_reply_before_any_claim_pings_nobody(harness: Harness) -> None:
    ts = await open_lead(harness)

    await harness.caller_text("Hello?")

    post = await wait_until(
        lambda: [p["text"] for p in harness.slack.replies(ts) if "Hello" in p["text"]], timeout=15
    )
    assert "<@" not in post[0]
    assert await wait_state(harness, ts, "Replied")
    assert blocks_of(harness, ts)


async def test_reaction_ack_comes_back_before_slack_sees_the_card_update(
    harness: Harness,
) -> None:
    ts = await open_lead(harness)
    harness.slack.latency = 1.0
    finished_before = len(harness.slack.finished)

    response = await react(harness, ts, "white_check_mark")

    assert response.status == 200
    assert "chat.update" not in harness.slack.finished[finished_before:]
    assert await wait_state(harness, ts, "Booked by")


async def test_clicks_at_once_converge_on_the_stored_state(harness: Harness) -> None:
    ts = await open_lead(harness)

    responses = await asyncio.gather(
        click(harness, ts, "lead_claim", user=OTHER_USER),
        click(harness, ts, "lead_book"),
        react(harness, ts, "x", user=OTHER_USER),
        click(harness, ts, "lead_claim"),
    )

    assert [r.status for r in responses] == [200] * 4
    await harness.drained(timeout=20)
    stored = await lead_state(harness, ts)
    assert stored.state in ("claimed", "booked", "closed")
    assert cards.state_label(stored) in state_line(harness, ts)


async def test_card_update_rate_limited_by_slack_is_retried(harness: Harness) -> None:
    ts = await open_lead(harness)
    harness.slack.fail("chat.update", 429, times=1)

    await click(harness, ts, "lead_close")

    assert await wait_state(harness, ts, "Closed by")
    assert harness.slack.calls_to("chat.update", failed=True)


async def lead_state(harness: Harness, ts: str) -> LeadState:
    owner = await harness.services.threads.owner(CHANNEL, ts)
    assert owner is not None
    return await harness.services.leads.get(owner.phone, owner.lead_id)


@pytest.mark.settings(SLACK_UPDATES_PER_SECOND=0.1)
async def test_a_claim_shows_at_once_behind_a_backlog_of_callers_changes(harness: Harness) -> None:
    callers = [f"+1202555014{n}" for n in range(5)]
    cards = [await open_lead(harness, caller) for caller in callers]
    for caller in callers:  # each reply moves a card to Replied: five updates, 16 s apart
        assert (await harness.caller_text("Any news?", caller=caller)).status == 200

    response = await click(harness, cards[-1], "lead_claim")

    assert response.status == 200
    await wait_state(harness, cards[-1], f"Claimed by <@{CREW_USER}>")
    waiting = await harness.services.redis.zrange(
        harness.services.outbox.keys.retry("slack"), 0, -1
    )
    assert sum('"slack.update"' in job for job in waiting) >= 2  # callers' updates still queued
