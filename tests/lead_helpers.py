"""Helpers for lead-card tests: signed block_actions and reaction events, reading the card."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from tests.conftest import CALLER, CHANNEL, CREW_USER, SIGNING_SECRET, Harness, card_ts
from tests.signing import slack_headers
from tests.waiting import wait_until


async def open_lead(harness: Harness, caller: str = CALLER) -> str:
    """A missed call, texted back, its card showing Texted; returns the card's ts."""
    before = {ts for (_, ts), m in harness.slack.messages.items() if not m.get("thread_ts")}
    response = await harness.missed_call(caller=caller)
    assert response.status == 200

    def new_card() -> str | None:
        for (_, ts), message in harness.slack.messages.items():
            if not message.get("thread_ts") and ts not in before and caller[-4:] in str(message):
                return ts
        return None

    ts = await wait_until(new_card, timeout=15, message="no lead card")
    await wait_until(lambda: "Texted" in state_line(harness, ts), timeout=15, message="not texted")
    await harness.drained(timeout=20)
    return ts


def first_card(harness: Harness) -> str:
    ts = card_ts(harness)
    assert ts is not None
    return ts


def blocks_of(harness: Harness, ts: str) -> list[dict[str, Any]]:
    raw = harness.slack.messages[(CHANNEL, ts)].get("blocks") or []
    return json.loads(raw) if isinstance(raw, str) else list(raw)


def state_line(harness: Harness, ts: str) -> str:
    for block in blocks_of(harness, ts):
        if block["type"] == "context":
            return str(block["elements"][0]["text"])
    return ""


def buttons(harness: Harness, ts: str) -> dict[str, dict[str, Any]]:
    for block in blocks_of(harness, ts):
        if block["type"] == "actions":
            return {b["action_id"]: b for b in block["elements"]}
    return {}


async def wait_state(harness: Harness, ts: str, expected: str) -> str:
    return await wait_until(
        lambda: expected in state_line(harness, ts) and state_line(harness, ts),
        timeout=15,
        message=f"card never showed {expected!r} (shows {state_line(harness, ts)!r})",
    )


async def click(harness: Harness, ts: str, action_id: str, user: str = CREW_USER) -> Any:
    """A button click on the card, form-encoded `payload=<json>` and signed as Slack does."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "crew", "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "team": {"id": "T0TEAM", "domain": "textback-test"},
        "container": {
            "type": "message",
            "message_ts": ts,
            "channel_id": CHANNEL,
            "is_ephemeral": False,
        },
        "channel": {"id": CHANNEL, "name": "leads"},
        "message": {"type": "message", "ts": ts, "text": "card"},
        "trigger_id": "1.2.3",
        "response_url": "https://hooks.slack.invalid/actions/1",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "lead",
                "value": "v",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    body = urlencode({"payload": json.dumps(payload)})
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        **slack_headers(SIGNING_SECRET, body),
    }
    return await harness.client.post("/slack/events", data=body, headers=headers)


async def react(
    harness: Harness, ts: str, name: str, *, added: bool = True, user: str = CREW_USER
) -> Any:
    event = {
        "type": "reaction_added" if added else "reaction_removed",
        "user": user,
        "reaction": name,
        "item": {"type": "message", "channel": CHANNEL, "ts": ts},
        "item_user": "U0TEXTBACK",
        "event_ts": f"{time.time():.6f}",
    }
    return await harness.slack_event(event)
