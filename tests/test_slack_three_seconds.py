"""Slack's 3 seconds: every slash command, button and modal submission is acknowledged before
any Slack API call it causes, with the Slack simulator adding 2 s to every API call.

Delivered by the simulator as Slack delivers (signed, a 2xx within 3 s or it is a failed
delivery), so `delivery.ok` is Slack's own verdict. "The ack came first" is read from the
simulator: no API call it answered finished between sending the request and the ack.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain import templates
from handlers.slack import roles
from tests.conftest import CALLER, CHANNEL, CREW_USER, Harness
from tests.lead_helpers import open_lead
from tests.slack_typed import Typed, deliveries_on, typed
from tests.waiting import wait_until

SLOW = 2.0  # seconds Slack's API takes for every call
admins = pytest.mark.settings(ADMIN_USER_IDS=CREW_USER)

SUBCOMMANDS = [
    "help",
    "status",
    "exclude add (202) 555-0177 supplier",
    "exclude list",
    "template show",
    "template set repeat Hi, {business} again. Sorry we missed you! Reply STOP to opt out.",
    "template edit",
    "hours show",
    "window 48",
    "pause until 5pm",
    "resume",
    f"history {CALLER}",
    "stats",
]


async def slowed(harness: Harness) -> None:
    """Bolt asks auth.test once per process, on its first request: let that happen first."""
    deliveries_on(harness)
    await typed(harness, CREW_USER, "help")
    harness.slack.latency = SLOW


async def acked_first(harness: Harness, act: Any) -> Any:
    """Run `act` (a delivery); assert Slack got its 2xx within 3 s, before any API call ended."""
    finished = len(harness.slack.finished)
    result = await act
    delivery = result.delivery if isinstance(result, Typed) else result
    assert delivery.ok, (delivery.status, delivery.last and delivery.last.error)
    assert harness.slack.finished[finished:] == [], "a Slack call finished before the ack"
    return result


@admins
@pytest.mark.parametrize("text", SUBCOMMANDS)
async def test_every_subcommand_is_acknowledged_first_with_slack_slow(
    harness: Harness, text: str
) -> None:
    await open_lead(harness)
    await slowed(harness)

    command: Typed = await acked_first(harness, typed(harness, CREW_USER, text))

    assert command.ack.strip()
    if text == "template edit":  # the modal opens after the ack, within the trigger's 3 s
        (view,) = await wait_until(lambda: harness.slack.views, message="no modal")
        assert view["callback_id"] == "textback_templates"
        assert not harness.slack.calls_to("views.open", failed=True)


async def test_someone_not_known_yet_gets_the_ack_first_and_the_answer_after(
    harness: Harness,
) -> None:
    harness.slack.add_user("U0NEWBOSS", "New Boss", is_owner=True)
    await slowed(harness)

    command: Typed = await acked_first(harness, typed(harness, "U0NEWBOSS", "window 36"))

    assert command.ack.startswith("One moment")
    assert await command.response("Saved") == "Saved: one auto-text per caller per 36 h (was 24 h)."


async def test_guests_are_refused_whether_known_ahead_or_not(harness: Harness) -> None:
    harness.slack.add_user("U0GUEST", "Gil Guest", is_restricted=True)
    harness.slack.add_user("U0SINGLE", "Sol Single", is_ultra_restricted=True)
    await slowed(harness)

    unknown: Typed = await acked_first(harness, typed(harness, "U0GUEST", "status"))
    assert unknown.ack.startswith("One moment")
    assert (await unknown.response()).startswith("Sorry, guests of this workspace can't")
    harness.slack.latency = 0
    await roles.sweep(harness.services)  # the app's next round of listing the members
    known = await typed(harness, "U0SINGLE", "history +12025550123")
    assert known.ack.startswith("Sorry, guests of this workspace can't")
    assert "(202) 555-0123" not in known.ack


async def test_the_cards_buttons_answer_first_and_exclude_is_for_admins(
    harness: Harness,
) -> None:
    ts = await open_lead(harness)
    await slowed(harness)

    claim = await acked_first(
        harness, harness.slack.people.click_button(CREW_USER, CHANNEL, ts, "lead_claim")
    )
    exclude = await acked_first(
        harness, harness.slack.people.click_button(CREW_USER, CHANNEL, ts, "lead_exclude")
    )

    assert claim.ok and exclude.ok
    hooks = harness.slack.events.response_urls.values()
    refused = await wait_until(
        lambda: [p for hook in hooks for p in hook.posts if "Only admins" in p.get("text", "")],
        message="the member was not told",
    )
    assert refused[0]["response_type"] == "ephemeral"
    assert CALLER not in await harness.services.callers.excluded()


@admins
async def test_a_modal_submission_is_acknowledged_first(harness: Harness) -> None:
    await slowed(harness)
    await typed(harness, CREW_USER, "template edit")
    (view,) = await wait_until(lambda: harness.slack.views, message="no modal")
    text = "Hi, {business} here again. Sorry we missed you! Reply STOP to opt out."
    values = {
        f"template_{kind}": {
            "text": {
                "type": "plain_text_input",
                "value": text if kind == "repeat" else templates.default_for(kind, linked=True),
            }
        }
        for kind in templates.KINDS
    }

    await acked_first(harness, harness.slack.people.submit_view(CREW_USER, view["id"], values))

    line = await harness.services.lines.current("default")
    assert line.templates.get("repeat") == text
