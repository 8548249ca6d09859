"""Urgent texts flag the card and ping the channel; the App Home lists today's open leads."""

from __future__ import annotations

import time

import pytest

from bot.domain.urgency import is_urgent
from tests.conftest import CALLER, CREW_USER, Harness
from tests.lead_helpers import click, open_lead, state_line, wait_state
from tests.waiting import wait_until


def broadcasts(harness: Harness) -> list[dict[str, object]]:
    return [p for p in harness.slack.posts if p.get("reply_broadcast")]


async def test_urgent_text_flags_the_card_and_pings_the_channel(harness: Harness) -> None:
    ts = await open_lead(harness)

    await harness.caller_text("URGENT basement is flooding <!channel>")

    assert await wait_state(harness, ts, ":rotating_light: *URGENT*")
    post = await wait_until(lambda: broadcasts(harness), timeout=15)
    assert post[0]["thread_ts"] == ts and "<!here>" in str(post[0]["text"])
    relayed = [p["text"] for p in harness.slack.replies(ts) if "flooding" in p["text"]]
    assert "<!channel>" not in relayed[0] and "&lt;!channel&gt;" in relayed[0]


async def test_urgent_text_pings_the_claimer_instead_of_everyone(harness: Harness) -> None:
    ts = await open_lead(harness)
    await click(harness, ts, "lead_claim")
    await wait_state(harness, ts, "Claimed by")

    await harness.caller_text("We smell a gas leak")

    post = await wait_until(lambda: broadcasts(harness), timeout=15)
    assert f"<@{CREW_USER}>" in str(post[0]["text"]) and "<!here>" not in str(post[0]["text"])
    assert "URGENT" in state_line(harness, ts)


async def test_ordinary_text_is_not_urgent(harness: Harness) -> None:
    ts = await open_lead(harness)

    await harness.caller_text("Can you quote a new panel?")

    await wait_state(harness, ts, "Replied")
    await harness.drained()
    assert broadcasts(harness) == []
    assert "URGENT" not in state_line(harness, ts)


@pytest.mark.parametrize(
    ("text", "urgent"),
    [
        ("URGENT", True),
        ("it's an emergency", True),
        ("No heat since last night", True),
        ("outlet is SPARKING", True),
        ("burst  pipe in the kitchen", True),
        ("gas leak", True),
        ("flooding downstairs", True),
        ("thanks, see you Tuesday", False),
        ("sparkling water", False),
        ("the heater works fine", False),
        ("quote for smoke detectors", False),
    ],
)
def test_urgency_detection(text: str, urgent: bool) -> None:
    assert is_urgent(text) is urgent


async def test_app_home_lists_todays_open_leads_and_the_settings(harness: Harness) -> None:
    await open_lead(harness)
    closed_ts = await open_lead(harness, caller="+12125550142")
    await click(harness, closed_ts, "lead_close")
    await wait_state(harness, closed_ts, "Closed")

    event = {
        "type": "app_home_opened",
        "user": CREW_USER,
        "tab": "home",
        "channel": "D0HOME",
        "event_ts": f"{time.time():.6f}",
    }
    response = await harness.slack_event(event)

    assert response.status == 200
    view = await wait_until(lambda: harness.slack.home_views.get(CREW_USER), timeout=15)
    text = str(view)
    assert f"tel:{CALLER}" in text and "Texted" in text
    assert "+12125550142" not in text  # closed: not open any more
    assert "Reply reminder after 10 business minutes" in text
