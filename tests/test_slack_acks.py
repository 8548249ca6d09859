"""Every /textback subcommand answers Slack with Slack and Twilio both slowed to 1 s a call.

Slack wants the ack within 3 s, and no Slack call sits before it but status's: the editor's
views.open runs right after the ack (within the command's trigger's 3 s); status waits on Twilio's
health and on the doctor's wiring lines (auth.test, conversations.info and Twilio's numbers; both
bounded by 2 s and run at once, the wiring at most every 5 minutes). (Someone not known yet is
asked about after the ack and answered through response_url: test_slack_three_seconds covers
it.) The ack times are printed, not asserted: speed is a figure.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

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
    ("template edit", "Opening the template editor"),
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


@dataclass
class Ack:
    status: int
    body: str
    awaited: list[str]  # slowed Slack calls that finished before the ack


async def slowed_ack(
    harness: Harness,
    send: Callable[[], Awaitable[Any]],
    label: str,
    capsys: pytest.CaptureFixture[str],
) -> Ack:
    """Send one request with the stand-ins slowed; print its ack time, return what it awaited."""
    await slash_command(harness, "help")  # Bolt's one auth.test per process, before the slowdown
    harness.slack.latency = SLOW
    harness.twilio.latency = SLOW
    finished_before = len(harness.slack.finished)
    started = time.perf_counter()
    response = await send()
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n{label}: ack in {elapsed * 1000:.0f} ms")
    return Ack(response.status, await response.text(), harness.slack.finished[finished_before:])


@admins
@pytest.mark.parametrize(("text", "expected"), SUBCOMMANDS, ids=[s[0] for s in SUBCOMMANDS])
async def test_every_subcommand_answers_with_slack_and_twilio_slowed(
    harness: Harness, text: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await open_lead(harness)  # a lead, so history and stats have something to show

    ack = await slowed_ack(
        harness, lambda: slash_command(harness, text), f"/textback {text[:40]}", capsys
    )

    assert ack.status == 200
    assert ack.body.strip(), "an empty ack shows the user nothing"
    assert expected in ack.body
    # status's wiring: as many of these as finish within its 2 s.
    waits_on = {"status": {"auth.test", "conversations.info"}}
    assert set(ack.awaited) <= waits_on.get(text, set())


CARD_BUTTONS = [
    ("lead_claim", "Claimed by"),
    ("lead_book", "Booked by"),
    ("lead_close", "Closed by"),
    ("lead_exclude", None),  # the number goes on the exclusion list
]


@admins  # Exclude is for admins
@pytest.mark.parametrize(("action_id", "state"), CARD_BUTTONS, ids=[b[0] for b in CARD_BUTTONS])
async def test_every_card_button_answers_before_any_slowed_slack_call(
    harness: Harness, action_id: str, state: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    ts = await open_lead(harness)

    ack = await slowed_ack(harness, lambda: click(harness, ts, action_id), action_id, capsys)

    assert (ack.status, ack.awaited) == (200, [])
    if state:
        await wait_state(harness, ts, state)
        return

    async def excluded() -> bool:
        return CALLER in await harness.services.callers.excluded()

    await wait_until(excluded, timeout=10, message="the number was not excluded")


REACTIONS = [("raising_hand", "Claimed by"), ("white_check_mark", "Booked by"), ("x", "Closed by")]


@pytest.mark.parametrize(("emoji", "state"), REACTIONS, ids=[r[0] for r in REACTIONS])
async def test_every_reaction_is_acknowledged_before_any_slowed_slack_call(
    harness: Harness, emoji: str, state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ts = await open_lead(harness)

    ack = await slowed_ack(harness, lambda: react(harness, ts, emoji), f":{emoji}:", capsys)

    assert (ack.status, ack.awaited) == (200, [])
    await wait_state(harness, ts, state)
