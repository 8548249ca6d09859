"""The right phone buzzes: the person on call is mentioned (a push on their phone) on a new
lead's card, on a caller's texts while nobody has claimed the lead, and in the first reminder;
the second reminder also tells the whole channel. Commands go through the Slack simulator, as
Slack sends them (a person picked with @ arrives as <@U…|name>)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.domain import oncall
from bot.domain.oncall import OnCallError
from bot.flows import reports
from tests.conftest import CHANNEL, CREW_USER, SIGNING_SECRET, Harness
from tests.lead_helpers import click, open_lead, wait_state
from tests.waiting import wait_until

MARIA, JOE = "U0MARIA", "U0JOE"
OTHER_CALLER = "+12125550142"
CHICAGO = ZoneInfo("America/Chicago")
admins = pytest.mark.settings(ADMIN_USER_IDS=CREW_USER)


async def command(harness: Harness, text: str) -> str:
    """`/textback <text>` typed in the leads channel, delivered by the Slack simulator; people
    are written <@U…> (picked from Slack's list). Returns the ephemeral answer."""
    slack = harness.slack
    if slack.events.app_url is None:
        for user, name in ((CREW_USER, "Crew"), (MARIA, "Maria"), (JOE, "Joe")):
            slack.add_user(user, name)
        slack.deliver_to(str(harness.client.make_url("")).rstrip("/"), SIGNING_SECRET)
    delivery = await slack.people.run_command(CREW_USER, "/textback", text, channel=CHANNEL)
    assert delivery.status == 200, delivery.text
    return delivery.text


def set_time(harness: Harness, text: str, zone: ZoneInfo) -> None:
    target = datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()
    harness.clock.offset = target - time.time()


def card_of(harness: Harness, ts: str) -> dict[str, Any]:
    return harness.slack.messages[(CHANNEL, ts)]


def reminders_in(harness: Harness, ts: str) -> list[str]:
    return [p["text"] for p in harness.slack.replies(ts) if ":alarm_clock:" in p["text"]]


def caller_posts(harness: Harness, ts: str) -> list[str]:
    return [p["text"] for p in harness.slack.replies(ts) if "*Caller*" in p["text"]]


@admins
async def test_a_new_card_mentions_the_person_on_call(harness: Harness) -> None:
    answer = await command(harness, f"oncall <@{MARIA}>")
    assert answer.startswith("Saved. On call: <@U0MARIA> every day")

    ts = await open_lead(harness)

    card = card_of(harness, ts)
    assert "on call: <@U0MARIA>" in card["text"]  # the notification text: a push to Maria
    assert "<@U0MARIA>" in json.dumps(card["blocks"])
    assert "<!here>" not in card["text"]


async def test_without_anyone_on_call_a_card_mentions_nobody(harness: Harness) -> None:
    assert "On call: nobody" in await command(harness, "oncall")
    ts = await open_lead(harness)
    assert "<@" not in card_of(harness, ts)["text"]


@admins
async def test_texts_on_an_unclaimed_lead_mention_the_person_on_call_then_the_claimer(
    harness: Harness,
) -> None:
    await command(harness, f"oncall <@{MARIA}>")
    ts = await open_lead(harness)

    await harness.caller_text("Water everywhere in the basement")
    await harness.drained()
    [first] = caller_posts(harness, ts)
    assert "(for <@U0MARIA>, on call)" in first

    await click(harness, ts, "lead_claim")  # the crew member claims it
    await wait_state(harness, ts, "Claimed by")
    await harness.caller_text("Still there?")
    await harness.drained()
    second = caller_posts(harness, ts)[1]
    assert "(for <@U0CREW>)" in second and "U0MARIA" not in second


@admins
async def test_an_urgent_text_on_an_unclaimed_lead_pings_the_person_on_call_not_here(
    harness: Harness,
) -> None:
    await command(harness, f"oncall <@{MARIA}>")
    await open_lead(harness)
    await harness.caller_text("URGENT burst pipe")
    await harness.drained()
    [urgent] = [p["text"] for p in harness.slack.posts if ":rotating_light:" in p["text"]]
    assert urgent.startswith(":rotating_light: <@U0MARIA> *Urgent*")


@admins
async def test_a_weekly_rotation_switches_at_midnight_on_the_lines_clock(harness: Harness) -> None:
    await command(harness, "hours set Daily 00:00-24:00 America/Chicago")
    answer = await command(harness, f"oncall mon-fri <@{MARIA}>; sat-sun <@{JOE}>")
    assert "On call: Mon-Fri <@U0MARIA>; Sat-Sun <@U0JOE> (days on America/Chicago time)" in (
        answer
    )

    # Friday 23:58 in Chicago is already Saturday in New York (the environment's zone).
    set_time(harness, "2026-11-20 23:58", CHICAGO)
    friday = await open_lead(harness)
    set_time(harness, "2026-11-21 00:01", CHICAGO)
    saturday = await open_lead(harness, caller=OTHER_CALLER)

    assert "on call: <@U0MARIA>" in card_of(harness, friday)["text"]
    assert "on call: <@U0JOE>" in card_of(harness, saturday)["text"]
    assert "today (Sat): <@U0JOE>" in await command(harness, "oncall")


@admins
async def test_first_reminder_goes_to_the_person_on_call_the_second_also_to_the_channel(
    harness: Harness,
) -> None:
    await command(harness, f"oncall <@{MARIA}>")
    ts = await open_lead(harness)
    await harness.caller_text("Hello? Anyone?")
    await harness.drained()

    harness.clock.advance(10 * 60 + 1)
    [first] = await wait_until(lambda: reminders_in(harness, ts), timeout=15)
    assert "<@U0MARIA>" in first and "<!here>" not in first and "<!channel>" not in first

    harness.clock.advance(10 * 60)
    both = await wait_until(
        lambda: len(reminders_in(harness, ts)) == 2 and reminders_in(harness, ts)
    )
    assert both[1].startswith(":alarm_clock: <@U0MARIA> <!channel> ")


async def test_with_nobody_on_call_the_second_reminder_is_channel_not_here(
    harness: Harness,
) -> None:
    ts = await open_lead(harness)
    await harness.caller_text("Hello?")
    await harness.drained()
    harness.clock.advance(20 * 60 + 1)
    both = await wait_until(
        lambda: len(reminders_in(harness, ts)) == 2 and reminders_in(harness, ts)
    )
    assert "<!here>" in both[0]
    assert "<!channel>" in both[1] and "<!here>" not in both[1]


@pytest.mark.settings(REMINDER_ESCALATE=False, ADMIN_USER_IDS=CREW_USER)
async def test_reminder_escalate_false_keeps_the_second_reminder_to_the_person_on_call(
    harness: Harness,
) -> None:
    await command(harness, f"oncall <@{MARIA}>")
    ts = await open_lead(harness)
    await harness.caller_text("Hello?")
    await harness.drained()
    harness.clock.advance(20 * 60 + 1)
    both = await wait_until(
        lambda: len(reminders_in(harness, ts)) == 2 and reminders_in(harness, ts)
    )
    assert "<@U0MARIA>" in both[1] and "<!channel>" not in both[1]


@admins
async def test_a_name_slack_sent_unescaped_is_refused_with_how_to_fix_it(harness: Harness) -> None:
    await command(harness, "oncall")  # connects the simulator
    harness.slack.command_escapes["/textback"] = False  # an app set up before should_escape

    answer = await command(harness, f"oncall <@{MARIA}>")

    assert 'Slack sent "@maria" as plain text' in answer
    assert "Escape channels, users, and links sent to your app" in answer
    assert "On call: nobody" in await command(harness, "oncall")


@admins
async def test_on_call_off_and_bad_rotations(harness: Harness) -> None:
    await command(harness, f"oncall <@{MARIA}>")
    assert "On call: nobody" in await command(harness, "oncall off")
    overlap = await command(harness, f"oncall mon-fri <@{MARIA}>; fri-sun <@{JOE}>")
    assert "Fri has two people on call" in overlap and "Usage" in overlap
    assert "is not a day" in await command(harness, f"oncall moonday <@{MARIA}>")
    assert "On call: nobody" in await command(harness, "oncall")


async def test_changing_who_is_on_call_is_for_admins(harness: Harness) -> None:
    answer = await command(harness, f"oncall <@{MARIA}>")
    assert answer.startswith("Only admins can change this")
    assert "On call: nobody" in await command(harness, "oncall")


@admins
async def test_status_and_the_app_home_show_who_is_on_call(harness: Harness) -> None:
    await command(harness, f"oncall mon-fri <@{MARIA}>")
    assert "On call: Mon-Fri <@U0MARIA>; Sat-Sun nobody" in await command(harness, "status")
    set_time(harness, "2026-11-18 12:00", CHICAGO)  # a Wednesday
    assert "On call today: <@U0MARIA>" in json.dumps(await reports.home_view(harness.services))


# --- pure ----------------------------------------------------------------------------------------


def test_rotation_reads_escaped_mentions_with_or_without_a_name() -> None:
    rota = oncall.parse("weekdays <@U0MARIA|maria>; Sat,Sun <@U0JOE>")
    assert rota == ("U0MARIA",) * 5 + ("U0JOE",) * 2
    assert oncall.load(oncall.stored(rota)) == rota
    assert oncall.describe(rota) == "Mon-Fri <@U0MARIA>; Sat-Sun <@U0JOE>"
    assert oncall.parse("<@W0ENTERPRISE|x>") == ("W0ENTERPRISE",) * 7


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "who is on call?"),
        ("mon-fri", "no person"),
        ("mon <@U1> <@U2>", "one person per day range"),
        ("mon-fri @maria", 'Slack sent "@maria" as plain text'),
    ],
)
def test_unreadable_rotations_say_why(text: str, problem: str) -> None:
    with pytest.raises(OnCallError, match=problem):
        oncall.parse(text)


def test_a_stored_rotation_that_no_longer_reads_means_nobody() -> None:
    assert oncall.load("U1,U2") == ()
    assert oncall.load("U1,,,,,,<script>") == ()


def test_describe_names_the_days_nobody_covers() -> None:
    assert oncall.describe(oncall.parse("mon <@U0MARIA>")) == "Mon <@U0MARIA>; Tue-Sun nobody"
    assert oncall.describe(("",) * 7) == "nobody"
