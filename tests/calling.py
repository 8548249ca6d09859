"""Helpers for tests where the simulators drive the app end to end: Twilio places and walks the
calls (webhooks signed over PUBLIC_URL), Slack delivers the crew's clicks and commands."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from tests.conftest import CHANNEL, CREW_USER, PUBLIC_URL, SIGNING_SECRET, Harness, thread
from tests.waiting import wait_until

CREW_PHONE = "+12025550177"  # the phone a crew member registers for call backs


def live(harness: Harness) -> Harness:
    """Twilio and Slack deliver to the running app, as once configured in their consoles."""
    app_url = str(harness.client.make_url("")).rstrip("/")
    harness.twilio.deliver_to(app_url, PUBLIC_URL)
    harness.slack.deliver_to(app_url, SIGNING_SECRET)
    return harness


async def settle(harness: Harness) -> None:
    """Twilio's calls and callbacks are over, and the outbox has done what they queued."""
    await harness.twilio.settled()
    await harness.drained(timeout=15)


def twiml(document: str) -> ET.Element:
    root = ET.fromstring(document)
    assert root.tag == "Response", document
    return root


def documents(record: Any, path: str) -> list[ET.Element]:
    """The TwiML our app answered at `path` during the call, parsed."""
    return [twiml(text) for url, text in record.documents if path in url]


async def thread_lines(harness: Harness, ts: str, count: int) -> list[str]:
    """The thread under `ts` once it holds at least `count` posts."""
    return await wait_until(
        lambda: len(thread(harness, ts)) >= count and thread(harness, ts),
        timeout=15,
        message=f"thread never reached {count} posts: {thread(harness, ts)}",
    )


async def tap(harness: Harness, ts: str, action_id: str, user: str = CREW_USER) -> Any:
    """`user` taps a button on the lead card, delivered by Slack as Slack does."""
    delivery = await harness.slack.people.click_button(user, CHANNEL, ts, action_id)
    assert delivery.ok, delivery.status
    return delivery
