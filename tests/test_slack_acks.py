"""Every /textback subcommand answers Slack with Slack and Twilio both slowed to 1 s a call.

Slack wants the ack within 3 s. Only the editor waits on Slack before answering (views.open must
use the command's trigger within 3 s) and status on Twilio's health (bounded by its own 2 s
timeout); everything else a subcommand causes happens after the ack. (A workspace admin's first
change waits on one users.info, cached after: test_commands covers it.) The ack times are
printed, not asserted: speed is a figure.
"""

from __future__ import annotations

import time

import pytest

from tests.conftest import CALLER, CREW_USER, Harness, slash_command
from tests.lead_helpers import click, open_lead, react, wait_state
from tests.waiting import wait_until

SLOW = 1.0  # seconds the stand-ins take for every call
admins = pytest.mark.settings(ADMIN_USER_IDS=CREW_USER)

# (subcommand, a fragment its answer must contain)
SUBCOMMANDS = [
    ("help", "/textback"),
    ("status", "Twilio:"),
    ("exclude add (202) 555-0177 supplier", "Excluded (202) 555-0177"),
    ("exclude list", "No numbers are excluded"),
    ("exclude remove +12025550177", "was not on the exclusion list"),
    ("template show", "segment"),
    ("template set repeat Hi, {business} again. Sorry we missed you! Reply STOP to opt out.", ""),
    ("template reset repeat", ""),
    ("template edit", ""),
    ("hours show", ""),
    ("hours set Mon-Fri 07:00-16:00", "07:00"),
    ("window", "24 h"),
    ("window 48", "48 h"),
    ("pause until 5pm", ""),
    ("resume", ""),
    (f"history {CALLER}", ""),
    ("stats", ""),
    ("stats 30d", ""),
]


@admins
@pytest.mark.parametrize(("text", "expected"), SUBCOMMANDS, ids=[s[0] for s in SUBCOMMANDS])
async def test_every_subcommand_answers_with_slack_and_twilio_slowed(
    harness: Harness, text: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await open_lead(harness)  # a lead, so history and stats have something to show
    await slash_command(harness, "help")  # Bolt's one auth.test per process, before the slowdown
    harness.slack.latency = SLOW
    harness.twilio.latency = SLOW
    finished_before = len(harness.slack.finished)

    started = time.perf_counter()
    response = await slash_command(harness, text)
    elapsed = time.perf_counter() - started

    assert response.status == 200
    answer = await response.text()
    assert answer.strip(), "an empty ack shows the user nothing"
    assert expected in answer
    awaited = harness.slack.finished[finished_before:]
    assert awaited == (["views.open"] if text == "template edit" else [])
    with capsys.disabled():
        print(f"\n/textback {text[:40]}: ack in {elapsed * 1000:.0f} ms")


CARD_BUTTONS = [
    ("lead_claim", "Claimed by"),
    ("lead_book", "Booked by"),
    ("lead_close", "Closed by"),
    ("lead_exclude", None),  # the number goes on the exclusion list
]


@pytest.mark.parametrize(("action_id", "state"), CARD_BUTTONS, ids=[b[0] for b in CARD_BUTTONS])
async def test_every_card_button_answers_before_any_slowed_slack_call(
    harness: Harness, action_id: str, state: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    ts = await open_lead(harness)
    await slash_command(harness, "help")  # Bolt's one auth.test per process, before the slowdown
    harness.slack.latency = SLOW
    finished_before = len(harness.slack.finished)

    started = time.perf_counter()
    response = await click(harness, ts, action_id)
    elapsed = time.perf_counter() - started

    assert response.status == 200
    assert harness.slack.finished[finished_before:] == []
    with capsys.disabled():
        print(f"\nbutton {action_id}: ack in {elapsed * 1000:.0f} ms")
    if state:
        await wait_state(harness, ts, state)
    else:

        async def excluded() -> bool:
            return CALLER in await harness.services.store.excluded("default")

        await wait_until(
            excluded,
            timeout=10,
            message="the number was not excluded",
        )


REACTIONS = [("raising_hand", "Claimed by"), ("white_check_mark", "Booked by"), ("x", "Closed by")]


@pytest.mark.parametrize(("emoji", "state"), REACTIONS, ids=[r[0] for r in REACTIONS])
async def test_every_reaction_is_acknowledged_before_any_slowed_slack_call(
    harness: Harness, emoji: str, state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ts = await open_lead(harness)
    await slash_command(harness, "help")  # Bolt's one auth.test per process, before the slowdown
    harness.slack.latency = SLOW
    finished_before = len(harness.slack.finished)

    started = time.perf_counter()
    response = await react(harness, ts, emoji)
    elapsed = time.perf_counter() - started

    assert response.status == 200
    assert harness.slack.finished[finished_before:] == []
    with capsys.disabled():
        print(f"\nreaction :{emoji}: ack in {elapsed * 1000:.0f} ms")
    await wait_state(harness, ts, state)
