"""Signed Slack requests of every shape Bolt may hand us: a clean 200 (ignored or handled) or a
400 saying what was wrong, never a 500 (Slack retries those), and a real reply still goes out."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.slack_text import for_caller, stays_inside, to_plain
from tests.conftest import CALLER, CHANNEL, CREW_USER, Harness, new_sid
from tests.hostile import FORM, event_body, interactive_body, post_slack
from tests.lead_helpers import open_lead

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
EVENT_KEYS = ("type", "subtype", "channel", "user", "text", "ts", "thread_ts", "bot_id", "item")
events = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "reaction_added", "reaction_removed", "app_home_opened"])},
    optional={k: json_values | st.text(max_size=12) for k in EVENT_KEYS[1:]},
)
PAYLOAD_KEYS = ("user", "team", "container", "channel", "message", "actions", "view", "state")
payloads = st.fixed_dictionaries(
    {"type": st.sampled_from(["block_actions", "view_submission", "view_closed", "shortcut"])},
    optional={k: json_values for k in PAYLOAD_KEYS},
)


def _message(**fields: Any) -> dict[str, Any]:
    return {"type": "message", "channel": CHANNEL, "user": CREW_USER, "ts": _ts(), **fields}


def _ts() -> str:
    return f"{time.time():.6f}"


def _sms_to_caller(harness: Harness) -> list[str]:
    return [m["Body"] for m in harness.twilio.messages_to(CALLER)]


@given(event=events | json_values)
async def test_any_signed_event_is_answered_200_or_400_never_500(
    harness: Harness, event: Any
) -> None:
    response = await post_slack(harness, event_body(event, new_sid("Ev")))
    assert response.status in (200, 400), await response.text()
    if response.status == 400:
        assert "unreadable Slack payload" in await response.text()


@given(payload=payloads | json_values)
async def test_any_signed_interaction_is_answered_200_or_400_never_500(
    harness: Harness, payload: Any
) -> None:
    response = await post_slack(harness, interactive_body(payload), FORM)
    # 404 is Bolt's {"error": "unhandled request"} for an interaction no listener takes (a
    # shortcut we never declared): Slack shows the clicker an error and does not retry.
    assert response.status in (200, 400, 404), await response.text()


@given(text=st.text(max_size=300), user=st.text(max_size=20))
async def test_any_slash_command_text_gets_an_answer(
    harness: Harness, text: str, user: str
) -> None:
    body = urlencode({"command": "/textback", "text": text, "user_id": user, "trigger_id": "1"})
    response = await post_slack(harness, body, FORM)
    assert response.status == 200
    assert await response.text()  # always says something: the answer, or how to use it


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xfe{}", "application/json"),
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"null", "application/json"),
        (b"42", "application/json"),
        (b"payload=%7Bnot+json", FORM),
        (b"payload=%5B1%5D", FORM),
        (b"\xff=1", FORM),
        (b'{"type": "event_callback"}', "application/json"),
        (b'{"type": "event_callback", "event": "message"}', "application/json"),
        (b'{"type": ["event_callback"]}', "application/json"),
    ],
)
async def test_unreadable_signed_slack_body_gets_400_saying_so(
    harness: Harness, body: bytes, content_type: str
) -> None:
    response = await post_slack(harness, body, content_type)
    assert response.status == 400
    assert (await response.json())["error"].startswith("unreadable Slack payload")


# Events Slack may send into a lead's thread that must never text the caller.
IGNORED = {
    "message_changed": {
        "subtype": "message_changed",
        "message": {"type": "message", "user": CREW_USER, "text": "edited", "ts": "1.1"},
    },
    "message_deleted": {"subtype": "message_deleted", "deleted_ts": "1.1"},
    "bot_message": {"subtype": "bot_message", "bot_id": "B0OTHER", "text": "a bot"},
    "another bot without subtype": {"bot_id": "B0OTHER", "text": "a bot"},
    "channel_join": {"subtype": "channel_join", "text": "<@U0CREW> has joined"},
    "huddle_thread": {"subtype": "huddle_thread", "text": ""},
    "no text": {},
    "blocks only": {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]},
    "text not a string": {"text": {"oops": 1}},
    "subtype not a string": {"subtype": ["file_share"], "text": "a list"},
    "internal note": {"text": "// call them tomorrow"},
    "mentions only": {"text": "<@U0OTHER> <!here>"},
    "unknown channel": {"channel": "C0ELSEWHERE", "text": "wrong place"},
    "thread we never posted": {"thread_ts": "1600000000.000001", "text": "not a lead"},
    "thread parent itself": {"text": "parent", "same_ts": True},
}


@pytest.mark.parametrize("kind", list(IGNORED))
async def test_message_shapes_that_are_not_a_crew_reply_are_ignored_with_200(
    harness: Harness, kind: str
) -> None:
    thread = await open_lead(harness)
    fields = {"thread_ts": thread, **IGNORED[kind]}
    if fields.pop("same_ts", False):
        fields["ts"] = thread
    sent_before = len(_sms_to_caller(harness))

    response = await harness.slack_event(_message(**fields))
    await harness.drained()

    assert response.status == 200
    assert len(_sms_to_caller(harness)) == sent_before


@pytest.mark.parametrize(
    "fields",
    [
        {"subtype": "file_share", "text": "Here is the quote", "files": [{"id": "F1"}]},
        {"subtype": "thread_broadcast", "text": "Here is the quote"},
        {"text": "Here is the quote", "blocks": [{"type": "rich_text", "elements": []}]},
    ],
    ids=["file_share", "thread_broadcast", "text with blocks"],
)
async def test_crew_reply_with_files_broadcast_or_blocks_still_texts_the_caller(
    harness: Harness, fields: dict[str, Any]
) -> None:
    thread = await open_lead(harness)
    response = await harness.slack_event(_message(thread_ts=thread, **fields))
    await harness.drained()
    assert response.status == 200
    assert _sms_to_caller(harness)[-1] == "Here is the quote"


OTHER_EVENTS = {
    "reaction on a message that is no card": {
        "type": "reaction_added",
        "user": CREW_USER,
        "reaction": "white_check_mark",
        "item": {"type": "message", "channel": CHANNEL, "ts": "1600000000.000001"},
    },
    "reaction on a file": {
        "type": "reaction_added",
        "user": CREW_USER,
        "reaction": "x",
        "item": {"type": "file", "file": "F1"},
    },
    "reaction without item": {"type": "reaction_removed", "user": CREW_USER, "reaction": "x"},
    "app_home_opened on messages tab": {
        "type": "app_home_opened",
        "user": CREW_USER,
        "tab": "messages",
    },
    "app_home_opened without user": {"type": "app_home_opened", "tab": "home"},
    "app_home_opened with a user that is no id": {
        "type": "app_home_opened",
        "user": {"id": CREW_USER},
        "tab": "home",
    },
    "unknown event type": {"type": "workflow_step_execute_v9", "anything": [1, 2]},
    "member_joined_channel": {"type": "member_joined_channel", "user": "U1", "channel": CHANNEL},
}


@pytest.mark.parametrize("kind", list(OTHER_EVENTS))
async def test_events_we_do_not_act_on_are_acknowledged_and_change_nothing(
    harness: Harness, kind: str
) -> None:
    response = await harness.slack_event(OTHER_EVENTS[kind])
    await harness.drained()
    assert response.status == 200
    assert harness.slack.posts == [] and harness.twilio.attempts == []
    assert harness.slack.home_views == {}


async def test_app_home_opened_publishes_the_home_tab(harness: Harness) -> None:
    event = {"type": "app_home_opened", "user": CREW_USER, "tab": "home"}
    response = await harness.slack_event(event)
    assert response.status == 200
    assert harness.slack.home_views[CREW_USER]["type"] == "home"


async def test_url_verification_answers_the_challenge(harness: Harness) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV"})
    response = await post_slack(harness, body)
    assert response.status == 200
    assert (await response.json())["challenge"] == "3eZbrw1aBm2rZgRNFdxV"


@given(text=st.text(max_size=400), ts=st.sampled_from(["", "abc", "1.2.3", "9" * 30]) | st.none())
async def test_any_crew_reply_in_a_real_thread_is_sent_as_plain_text_or_not_at_all(
    harness: Harness, text: str, ts: str | None
) -> None:
    if not hasattr(harness, "thread"):
        harness.thread = await open_lead(harness)  # type: ignore[attr-defined]
    sent_before = len(_sms_to_caller(harness))
    event = _message(thread_ts=harness.thread, text=text)  # type: ignore[attr-defined]
    if ts is not None:
        event["ts"] = ts or _ts()
    response = await harness.slack_event(event)
    assert response.status == 200
    await harness.drained()
    sent = _sms_to_caller(harness)[sent_before:]
    expected = for_caller(text.strip())
    if not to_plain(text.strip()) or stays_inside(text, "U0TEXTBACK"):
        assert sent == []
    else:
        assert sent == [expected] or sent == []  # [] only when that ts was already used
        if ts is None:
            assert sent == [expected]


async def test_an_unknown_subcommand_is_echoed_inert_and_short(harness: Harness) -> None:
    body = urlencode(
        {"command": "/textback", "text": "<!channel>" + "x" * 5000, "user_id": CREW_USER}
    )
    response = await post_slack(harness, body, FORM)
    assert response.status == 200
    answer = await response.text()
    assert answer.startswith("I don't know `&lt;!channel&gt;xxx")
    assert "<!channel>" not in answer and "x" * 100 not in answer


async def test_a_click_from_a_workspace_outside_enterprise_grid_is_handled(
    harness: Harness,
) -> None:
    """Slack sends "enterprise": null there: that is a click, not a malformed payload."""
    ts = await open_lead(harness)
    payload = {
        "type": "block_actions",
        "enterprise": None,
        "is_enterprise_install": False,
        "user": {"id": CREW_USER, "team_id": "T0TEAM"},
        "team": {"id": "T0TEAM", "domain": "textback-test"},
        "container": {"type": "message", "message_ts": ts, "channel_id": CHANNEL},
        "channel": {"id": CHANNEL, "name": "leads"},
        "message": {"type": "message", "ts": ts, "text": "card"},
        "actions": [{"type": "button", "action_id": "lead_claim", "block_id": "lead"}],
    }
    response = await post_slack(harness, interactive_body(payload), FORM)
    assert response.status == 200
    await harness.drained()
    assert "Claimed by" in str(harness.slack.messages[(CHANNEL, ts)]["blocks"])
