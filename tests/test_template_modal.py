"""Editing the auto-texts in a modal (on a phone): opened from /textback template edit, checked
by the template guard on submit, errors shown under the field they belong to."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.domain import templates
from tests.conftest import CALLER, CREW_USER, SIGNING_SECRET, Harness, slash_command
from tests.signing import slack_headers
from tests.waiting import wait_until

admins = pytest.mark.settings(ADMIN_USER_IDS=CREW_USER)


def editor_values(**texts: str) -> dict[str, Any]:
    """The modal's state as Slack submits it: every field, with the defaults where not given."""
    return {
        f"template_{kind}": {
            "text": {
                "type": "plain_text_input",
                "value": texts.get(kind, templates.default_for(kind, linked=True)),
            }
        }
        for kind in templates.KINDS
    }


async def submit(harness: Harness, values: dict[str, Any], user_id: str = CREW_USER) -> Any:
    payload = {
        "type": "view_submission",
        "team": {"id": "T0TEAM"},
        "user": {"id": user_id},
        "api_app_id": "A0APP",
        "trigger_id": "1.3",
        "view": {
            "id": "V00000001",
            "type": "modal",
            "callback_id": "textback_templates",
            "private_metadata": "",
            "state": {"values": values},
        },
    }
    body = urlencode({"payload": json.dumps(payload)})
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        **slack_headers(SIGNING_SECRET, body),
    }
    return await harness.client.post("/slack/events", data=body, headers=headers)


@admins
async def test_template_edit_opens_the_editor_with_the_current_texts(harness: Harness) -> None:
    response = await slash_command(harness, "template edit")
    assert await response.text() == "Opening the template editor…"
    (view,) = await wait_until(lambda: harness.slack.views, message="the editor never opened")
    assert view["callback_id"] == "textback_templates"
    fields = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert fields["template_business"]["element"]["initial_value"] == templates.LINKED["business"]
    # At its longest, with an intake link as long as ours: still one segment.
    assert "1 segment, GSM-7" in fields["template_business"]["hint"]["text"]
    assert harness.slack.calls_to("views.open")[0]["trigger_id"] == "1.2"


async def test_template_edit_is_for_admins(harness: Harness) -> None:
    response = await slash_command(harness, "template edit")
    assert (await response.text()).startswith("Only admins can change this")
    assert harness.slack.views == []


@admins
async def test_refused_text_shows_its_reasons_under_its_field(harness: Harness) -> None:
    response = await submit(
        harness, editor_values(after_hours="{business}: 20% off heaters! Reply STOP to opt out.")
    )
    assert response.status == 200
    answer = await response.json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == ["template_after_hours"]
    assert "(% off)" in answer["errors"]["template_after_hours"]
    line = await harness.services.lines.current("default")
    assert line.templates == {}


@admins
async def test_saved_text_from_the_editor_is_what_the_next_caller_gets(harness: Harness) -> None:
    text = "{business} here, sorry we missed you! Reply here. Reply STOP to opt out."
    response = await submit(harness, editor_values(business=text))
    assert response.status == 200
    assert await response.text() == ""  # an empty ack closes the modal
    await harness.missed_call(CALLER)
    await harness.drained()
    (sent,) = harness.twilio.messages_to(CALLER)
    assert (
        sent["Body"]
        == "Johnson Electric here, sorry we missed you! Reply here. Reply STOP to opt out."
    )


async def test_a_non_admin_submitting_the_editor_changes_nothing(harness: Harness) -> None:
    text = "{business} here! Reply STOP to opt out."
    answer = await (await submit(harness, editor_values(business=text))).json()
    assert answer["errors"]["template_business"].startswith("Only admins can change this")
    assert (await harness.services.lines.current("default")).templates == {}
