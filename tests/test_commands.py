"""/textback exclude, template, hours, window, pause/resume and status, through signed slash
commands, and what the next missed caller gets after each change."""

from __future__ import annotations

import json
import re

import pytest
from redis.asyncio import Redis

from bot.domain import templates
from bot.flows import reports
from tests.conftest import (
    BUSINESS_NUMBER,
    CALLER,
    CHANNEL,
    CREW_USER,
    PUBLIC_URL,
    Clock,
    Harness,
    cards,
    slash_command,
    start_harness,
    thread,
)
from tests.slack_typed import typed
from tests.standins import SlackStandIn, TwilioStandIn
from tests.waiting import wait_until

OTHER_CALLER = "+12125550142"
BOSS = "U0BOSS"
HOUR = 3600
admins = pytest.mark.settings(ADMIN_USER_IDS=CREW_USER)


def is_default_text(kind: templates.Kind, body: str) -> bool:
    """The environment's text for `kind`, with this lead's own intake link in it."""
    marker = "\x00"
    rendered = templates.render(kind, business="Johnson Electric", link=marker).text
    link = re.escape(PUBLIC_URL) + r"/i/[A-Za-z0-9_-]+"
    return (
        re.fullmatch(link.join(re.escape(part) for part in rendered.split(marker)), body)
        is not None
    )


async def say(harness: Harness, text: str, user_id: str = CREW_USER) -> str:
    """Run `/textback <text>` and return the answer (plain text in the ack: ephemeral)."""
    response = await slash_command(harness, text, user_id=user_id)
    assert response.status == 200
    return str(await response.text())


async def texts_to(harness: Harness, number: str = CALLER) -> list[str]:
    await harness.drained()
    return [m["Body"] for m in harness.twilio.messages_to(number)]


async def test_help_lists_every_subcommand(harness: Harness) -> None:
    text = await say(harness, "help")
    for usage in ("exclude add", "template show", "hours show", "window", "pause", "resume"):
        assert f"/textback {usage}" in text
    for part in ("| set <business|after-hours|repeat> <text>", "| list", "[until <time>]"):
        assert part in text
    assert "/textback status" in text


async def test_unknown_subcommand_answers_with_help(harness: Harness) -> None:
    text = await say(harness, "frobnicate")
    assert "I don't know `frobnicate`" in text and "/textback exclude" in text


# --- exclude ----------------------------------------------------------------------------------


@admins
async def test_number_excluded_by_command_gets_no_text(harness: Harness) -> None:
    answer = await say(harness, "exclude add (202) 555-0123 my brother")
    assert answer.startswith("Excluded (202) 555-0123 (my brother).")
    await harness.missed_call(CALLER)
    assert await texts_to(harness) == []
    assert "exclusion list" in cards(harness)[0]["text"]


@admins
@pytest.mark.parametrize("written", ["+12125550142", "212.555.0142", "(212) 555-0142"])
async def test_exclude_accepts_common_number_forms_and_lists_them(
    harness: Harness, written: str
) -> None:
    await say(harness, f"exclude add {written} plumbing supplier")
    listed = await say(harness, "exclude list")
    assert "(212) 555-0142 — plumbing supplier" in listed


@admins
async def test_removed_exclusion_texts_again(harness: Harness) -> None:
    await say(harness, "exclude add 202.555.0123")
    answer = await say(harness, "exclude remove +1 202 555 0123")
    assert answer == "Removed (202) 555-0123 from the exclusion list."
    assert await say(harness, "exclude list") == (
        "No numbers are excluded. Add one with `/textback exclude add <number> [note]`."
    )
    await harness.missed_call(CALLER)
    assert len(await texts_to(harness)) == 1


@admins
async def test_exclude_with_a_bad_number_shows_usage(harness: Harness) -> None:
    answer = await say(harness, "exclude add 555-0199")
    assert "is not a valid phone number" in answer or "is not a phone number" in answer
    assert "Usage: `/textback exclude add <number>[, <number>…] [note]`" in answer
    assert "Usage" in await say(harness, "exclude")
    assert (await say(harness, "exclude list")).startswith("No numbers are excluded")


@admins
async def test_an_opted_out_number_stays_opted_out_after_exclude_remove(harness: Harness) -> None:
    await harness.caller_text("STOP")
    await harness.drained()
    await say(harness, "exclude add (202) 555-0123")
    answer = await say(harness, "exclude remove (202) 555-0123")
    assert "stays opted out" in answer and "only their own START" in answer
    await harness.missed_call(CALLER)
    assert await texts_to(harness) == []
    (card,) = cards(harness)  # the STOP text opened the lead; the call lands in its thread
    assert any("this caller opted out" in post for post in thread(harness, card["ts"]))


# --- template -----------------------------------------------------------------------------------


@admins
async def test_template_set_in_slack_is_the_text_the_next_caller_gets(harness: Harness) -> None:
    template = (
        "Hi {first_name}, {business} here. Sorry we missed you {time_of_day}! "
        "Reply here. Reply STOP to opt out."
    )
    answer = await say(harness, f"template set business {template}")
    assert answer.startswith("Saved the business text (version 1).")
    assert ">Hi Christabella, Johnson Electric here. Sorry we missed you this afternoon!" in answer
    assert "· 1 segment · GSM-7" in answer
    await harness.missed_call(CALLER, CallerName="MARIA LOPEZ")
    (sent,) = await texts_to(harness)
    assert sent.startswith("Hi Maria, Johnson Electric here. Sorry we missed you this ")
    assert sent.endswith("Reply here. Reply STOP to opt out.")


@admins
async def test_consent_ledger_records_the_version_of_the_text_sent(harness: Harness) -> None:
    await say(harness, "template set business {business}: sorry! Reply STOP to opt out.")
    await say(harness, "template set business {business}: sorry again! Reply STOP to opt out.")
    await harness.missed_call(CALLER)
    await harness.drained()
    (sent,) = [e for e in await harness.services.ledger.history(CALLER) if e.event == "text_sent"]
    assert (sent.detail["template"], sent.detail["version"]) == ("business", "v2")


@admins
async def test_refused_template_gives_every_reason_and_changes_nothing(harness: Harness) -> None:
    answer = await say(harness, "template set business FREE estimates, 20% off! {price}")
    assert answer.startswith("Not saved. The business text needs changes:")
    for reason in ("{price} is not a placeholder", "name the business", "opt out", "(free)"):
        assert reason in answer
    assert "(% off)" in answer
    await harness.missed_call(CALLER)
    (sent,) = await texts_to(harness)
    assert is_default_text("business", sent)


@admins
async def test_template_preview_names_characters_that_force_ucs2(harness: Harness) -> None:
    answer = await say(
        harness, "template set after-hours {business}: we’re closed. Reply STOP to opt out."
    )
    assert "UCS-2" in answer and "`’` (U+2019)" in answer
    assert "Saved the after-hours text" in answer


@admins
async def test_template_show_and_reset(harness: Harness) -> None:
    await say(harness, "template set repeat {business} again, sorry! Reply STOP to opt out.")
    shown = await say(harness, "template show")
    assert "*repeat* (set in Slack, version 1)" in shown
    assert "*business* (default)" in shown
    assert "characters · 1 segment · GSM-7" in shown
    reset = await say(harness, "template reset repeat")
    assert reset.startswith("The repeat text is back to the default (version 2).")
    assert "*repeat* (default, version 2)" in await say(harness, "template show")


@admins
async def test_template_usage_errors_say_what_to_type(harness: Harness) -> None:
    assert "`nightly` is not a template" in await say(harness, "template set nightly hi")
    assert "Which template?" in await say(harness, "template reset")
    assert "What should the business text say?" in await say(harness, "template set business")


async def test_changing_a_template_is_for_admins_and_says_who(harness: Harness) -> None:
    answer = await say(harness, "template set business {business}. Reply STOP to opt out.")
    assert answer.startswith("Only admins can change this:")
    assert "Slack workspace admins and owners" in answer
    assert "*business* (default)" in await say(harness, "template show")  # reading is for all


@pytest.mark.settings(ADMIN_USER_IDS="U0ALICE,U0BOB")
async def test_refusal_names_the_configured_admins(harness: Harness) -> None:
    answer = await say(harness, "window 48")
    assert "<@U0ALICE>, <@U0BOB> (ADMIN_USER_IDS)" in answer
    assert "per 24 h" in await say(harness, "window")


async def test_a_workspace_admin_not_known_yet_is_answered_after_slack_says_so(
    harness: Harness,
) -> None:
    harness.slack.add_user(BOSS, "Pat Boss", is_admin=True)  # joined after the app listed members
    harness.slack.latency = 1.0  # users.info takes a second: after the ack, not before

    first = await typed(harness, BOSS, "window 48")

    assert first.delivery.ok and first.ack.startswith("One moment")
    assert await first.response("Saved") == "Saved: one auto-text per caller per 48 h (was 24 h)."
    second = await typed(harness, BOSS, "window 12")  # known now: answered in the ack
    assert second.ack.startswith("Saved")
    assert len(harness.slack.calls_to("users.info")) == 1


async def test_a_member_who_is_not_an_admin_is_refused(harness: Harness) -> None:
    harness.slack.add_user("U0MEMBER", "Sam Member")
    command = await typed(harness, "U0MEMBER", "pause")
    assert (await command.response()).startswith("Only admins can change this")
    await harness.missed_call(CALLER)
    assert len(await texts_to(harness)) == 1


# --- hours ------------------------------------------------------------------------------------


@admins
async def test_hours_set_in_slack_switch_to_the_after_hours_text(harness: Harness) -> None:
    answer = await say(harness, "hours set closed")
    assert answer.startswith("Saved. Hours: closed (America/New_York, set in Slack)")
    await harness.missed_call(CALLER)
    (sent,) = await texts_to(harness)
    assert is_default_text("after_hours", sent)


@admins
@pytest.mark.settings(BUSINESS_HOURS="closed", ADMIN_USER_IDS=CREW_USER)
async def test_hours_set_in_slack_switch_to_the_business_text(harness: Harness) -> None:
    answer = await say(harness, "hours set Daily 00:00-24:00 America/Chicago")
    assert "Hours: Daily 24h (America/Chicago, set in Slack) · open now" in answer
    await harness.missed_call(CALLER)
    (sent,) = await texts_to(harness)
    assert is_default_text("business", sent)


@admins
async def test_unreadable_hours_say_why_and_show_usage(harness: Harness) -> None:
    answer = await say(harness, "hours set Mon-Fri 8-5")
    assert '"8" needs minutes or am/pm' in answer
    assert "Usage: `/textback hours show`" in answer
    assert "Mars/Olympus" in await say(harness, "hours set Mon-Fri 08:00-17:00 Mars/Olympus")
    assert "(America/New_York, default)" in await say(harness, "hours show")


# --- window -----------------------------------------------------------------------------------


@admins
async def test_window_change_applies_to_the_next_call(harness: Harness) -> None:
    await harness.missed_call(CALLER)
    assert len(await texts_to(harness)) == 1
    harness.clock.advance(2 * HOUR)
    await harness.missed_call(CALLER)
    assert len(await texts_to(harness)) == 1  # within the default 24 h
    assert (await say(harness, "window 1")).startswith("Saved: one auto-text per caller per 1 h")
    harness.clock.advance(2 * HOUR)
    await harness.missed_call(CALLER)
    assert len(await texts_to(harness)) == 2


@admins
@pytest.mark.parametrize("bad", ["0", "721", "two days", "-3", "1.5"])
async def test_window_out_of_bounds_is_refused(harness: Harness, bad: str) -> None:
    answer = await say(harness, f"window {bad}")
    assert "from 1 to 720" in answer
    assert "per 24 h (default)" in await say(harness, "window")


# --- pause / resume ---------------------------------------------------------------------------


@admins
async def test_paused_calls_post_to_slack_without_a_text_and_resume_texts_again(
    harness: Harness,
) -> None:
    answer = await say(harness, "pause")
    assert answer.startswith("Auto-texts: *paused* until someone runs `/textback resume`.")
    await harness.missed_call(CALLER)
    assert await texts_to(harness) == []
    assert "paused" in cards(harness)[0]["text"]
    assert (
        await say(harness, "resume") == "Auto-texts are on again: the next missed caller gets one."
    )
    await harness.missed_call(OTHER_CALLER)
    assert len(await texts_to(harness, OTHER_CALLER)) == 1


@admins
async def test_pause_until_a_time_resumes_by_itself(harness: Harness) -> None:
    answer = await say(harness, "pause until 2099-12-01 08:00")
    assert "paused* until Tue Dec 1, 8:00 AM EST" in answer
    assert "resume by themselves" in answer
    await harness.missed_call(CALLER)
    assert await texts_to(harness) == []
    answer = await say(harness, "pause for 2 days")
    harness.clock.advance(3 * 86_400)
    await harness.missed_call(OTHER_CALLER)
    assert len(await texts_to(harness, OTHER_CALLER)) == 1
    assert "Auto-texts: on" in await say(harness, "status")


@admins
async def test_pause_with_an_unreadable_time_says_how(harness: Harness) -> None:
    answer = await say(harness, "pause until whenever")
    assert 'could not read "until whenever"' in answer and "until monday 8am" in answer
    assert "Usage" in await say(harness, "pause tomorrow")
    assert "Auto-texts: on" in await say(harness, "status")


async def test_settings_changed_in_one_process_apply_in_another(
    harness: Harness,
    redis_url: str,
    key_prefix: str,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    redis: Redis,
) -> None:
    other = await start_harness(
        redis_url, key_prefix, slack, twilio, Clock(), run_worker=False, admin_user_ids=CREW_USER
    )
    try:
        assert (await say(other, "pause")).startswith("Auto-texts: *paused*")

        async def paused_here() -> bool:
            line = await harness.services.lines.current("default")
            return line.paused_at(harness.clock())

        await wait_until(paused_here, timeout=10, message="the pause never reached this process")
        await harness.missed_call(CALLER)
        assert await texts_to(harness) == []
    finally:
        await other.client.close()


# --- status -----------------------------------------------------------------------------------


@admins
async def test_status_shows_what_is_in_effect_and_twilio_health(harness: Harness) -> None:
    await say(harness, "template set repeat {business} again. Reply STOP to opt out.")
    await say(harness, "window 48")
    await say(harness, "pause until 2099-01-05 09:00")
    text = await say(harness, "status")
    assert "Hours: Daily 24h (America/New_York, default) · open now" in text
    assert "Auto-texts: *paused* until Mon Jan 5, 9:00 AM EST" in text
    assert "per 48 h (set in Slack)" in text
    assert "Texts: business default, after-hours default, repeat set in Slack (v1)" in text
    assert "Twilio: ok" in text
    assert "queued jobs: sms 0, slack 0" in text
    assert "Last error: none" in text


async def test_status_says_when_twilio_refuses_the_credentials(harness: Harness) -> None:
    harness.twilio.auth_token = "rotated-elsewhere"
    text = await say(harness, "status")
    assert "Twilio: credentials refused" in text
    assert "Redis: ok" in text


wired = pytest.mark.settings(TWILIO_NUMBERS=BUSINESS_NUMBER)


def wire_number(harness: Harness) -> None:
    harness.twilio.numbers.add(
        BUSINESS_NUMBER,
        voice_url=f"{PUBLIC_URL}/twilio/voice",
        sms_url=f"{PUBLIC_URL}/twilio/sms",
        status_callback=f"{PUBLIC_URL}/twilio/voice/status",
    )


@wired
async def test_status_shows_the_wiring_and_asks_again_at_most_every_5_minutes(
    harness: Harness,
) -> None:
    wire_number(harness)
    harness.slack.add_channel(CHANNEL, "leads")
    first = await typed(harness, CREW_USER, "status")  # nothing kept yet: checked after the ack
    checked = await first.response("*Wiring* (checked just now;")
    asked = len(harness.slack.calls_to("auth.test"))  # Bolt's own auth.test, and the wiring's
    second = await typed(harness, CREW_USER, "status")  # kept and fresh: in the ack itself
    asked_again_within_5_minutes = len(harness.slack.calls_to("auth.test")) - asked
    harness.clock.advance(301)
    third = await typed(harness, CREW_USER, "status")
    await third.response("*Wiring* (checked just now;")

    assert "*Wiring*: checking Slack and Twilio now" in first.ack
    assert "✓ Slack token: works: bot @textback in workspace" in checked
    assert "✓ Slack #leads: the bot is in this channel" in checked
    assert f"✓ Twilio {BUSINESS_NUMBER} calls: → {PUBLIC_URL}/twilio/voice (POST)" in checked
    assert f"✓ Twilio {BUSINESS_NUMBER} texts: → {PUBLIC_URL}/twilio/sms (POST)" in checked
    assert "signing secret" not in checked
    assert "*Wiring* (checked just now;" in second.ack
    assert second.responses() == []
    assert asked_again_within_5_minutes == 0
    assert "checking again now, the result follows" in third.ack  # the kept one, 5 min old
    assert len(harness.slack.calls_to("auth.test")) == asked + 1


@wired
async def test_status_shows_a_broken_wiring_with_its_fix(harness: Harness) -> None:
    harness.twilio.numbers.add(BUSINESS_NUMBER, voice_url="https://demo.twilio.com/welcome/voice/")
    harness.slack.add_channel(CHANNEL, "leads", member=False)
    text = await (await typed(harness, CREW_USER, "status")).response("*Wiring*")
    assert "✗ Slack #leads: the bot is not in it" in text
    assert "_fix:_ type /invite @textback in #leads" in text
    assert f"✗ Twilio {BUSINESS_NUMBER} calls: calls go to https://demo.twilio.com" in text


@wired
async def test_status_answers_in_time_while_twilio_hangs_and_asks_again_30_s_later(
    harness: Harness,
) -> None:
    wire_number(harness)
    harness.twilio.latency = 10.0
    hung = await typed(harness, CREW_USER, "status")
    assert hung.delivery.ok  # Slack got its answer in time, Twilio hanging or not
    checked = await hung.response("*Wiring*", timeout=20)
    asked = len(harness.slack.calls_to("auth.test"))
    again = await typed(harness, CREW_USER, "status")
    asked_again_at_once = len(harness.slack.calls_to("auth.test")) - asked
    harness.twilio.latency = 0.0
    harness.clock.advance(31)
    recovered = await (await typed(harness, CREW_USER, "status")).response("checked just now")

    assert "✗ Twilio no answer: nothing within 8 s" in checked
    assert "✓ Slack token" in checked
    assert "*Wiring* (checked just now;" in again.ack
    assert asked_again_at_once == 0
    assert f"✓ Twilio {BUSINESS_NUMBER} calls" in recovered


@admins
async def test_app_home_shows_hours_set_in_slack(harness: Harness) -> None:
    await say(harness, "hours set Mon-Fri 09:00-17:00 America/Chicago")
    view = await reports.home_view(harness.services)
    assert "Hours: Mon-Fri 09:00-17:00 (America/Chicago)" in json.dumps(view)
