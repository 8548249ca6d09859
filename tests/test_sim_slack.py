"""The Slack simulator does what Slack documents, as seen by slack_sdk, Bolt and a small app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.simulators.slack import BOT_SCOPES, COMMAND_ESCAPES, SlackStandIn
from tests.sim_product import ProductStub, Received, running_stub
from tests.waiting import wait_until

SECRET = "sim-signing-secret"
CHANNEL = "C0LEADS"
CREW = "U0CREW"
BUTTONS = [
    {
        "type": "actions",
        "block_id": "lead",
        "elements": [
            {
                "type": "button",
                "action_id": "claim",
                "value": "+12025550123",
                "text": {"type": "plain_text", "text": "Claim"},
            }
        ],
    }
]


@pytest.fixture
async def product() -> AsyncIterator[tuple[ProductStub, str]]:
    async with running_stub() as running:
        yield running


@pytest.fixture
def app(product: tuple[ProductStub, str]) -> ProductStub:
    app = product[0]
    app.answers["/slack/events"] = lambda _: web.Response(status=200)
    return app


@pytest.fixture
async def slack(product: tuple[ProductStub, str]) -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn(users={CREW: "Ada Lovelace"}) as sim:
        sim.deliver_to(product[1], SECRET)
        yield sim


@pytest.fixture
def client(slack: SlackStandIn) -> AsyncWebClient:
    return AsyncWebClient(token=slack.token, base_url=slack.url)


def verified(received: Received) -> bool:
    return SignatureVerifier(SECRET).is_valid_request(received.body, received.headers)


def event_of(received: Received) -> dict[str, Any]:
    envelope: dict[str, Any] = received.json
    return envelope["event"]


def payload_of(received: Received) -> dict[str, Any]:
    return json.loads(received.form["payload"])  # type: ignore[no-any-return]


async def card(client: AsyncWebClient, text: str = "Missed call from +1 202-555-0123") -> str:
    posted = await client.chat_postMessage(channel=CHANNEL, text=text, blocks=BUTTONS)
    return str(posted["ts"])


# ---- Web API ------------------------------------------------------------------------------


def test_default_scopes_are_the_manifests() -> None:
    manifest = yaml.safe_load(Path("manifests/slack.yaml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES


def test_default_command_escaping_is_the_manifests() -> None:
    manifest = yaml.safe_load(Path("manifests/slack.yaml").read_text())
    declared = {c["command"]: c["should_escape"] for c in manifest["features"]["slash_commands"]}
    assert declared == COMMAND_ESCAPES


async def test_every_answer_carries_x_oauth_scopes(
    slack: SlackStandIn, client: AsyncWebClient
) -> None:
    expected = ",".join(sorted(BOT_SCOPES))
    answers = [
        await client.auth_test(),
        await client.chat_postMessage(channel=CHANNEL, text="hi"),
        await client.users_info(user=CREW),
        await client.conversations_info(channel=CHANNEL),
    ]
    slack.fail("reactions.add", status=429)
    for failing in (
        client.reactions_add(channel=CHANNEL, timestamp="1.2", name="x"),
        client.api_call("nope.nothing"),
    ):
        with pytest.raises(SlackApiError) as err:
            await failing
        answers.append(err.value.response)

    assert [a.headers["x-oauth-scopes"] for a in answers] == [expected] * len(answers)
    assert answers[1].headers["x-accepted-oauth-scopes"] == "chat:write"


async def test_missing_scope_when_enforced(slack: SlackStandIn, client: AsyncWebClient) -> None:
    slack.enforce_scopes = True
    slack.scopes -= {"channels:read", "groups:read"}  # an app installed before it asked for them
    with pytest.raises(SlackApiError) as err:
        await client.conversations_info(channel=CHANNEL)
    assert err.value.response["error"] == "missing_scope"
    assert "channels:read" in err.value.response["needed"]
    slack.scopes.add("channels:read")
    assert (await client.conversations_info(channel=CHANNEL))["ok"]


async def test_conversations_info_tells_whether_the_bot_is_in(
    slack: SlackStandIn, client: AsyncWebClient
) -> None:
    slack.add_channel("C0OTHER", "other-crew", member=False)
    slack.add_channel("C0OLD", "old-leads", archived=True)

    other = (await client.conversations_info(channel="C0OTHER"))["channel"]
    leads = (await client.conversations_info(channel=CHANNEL))["channel"]
    old = (await client.conversations_info(channel="C0OLD"))["channel"]

    assert (other["name"], other["is_member"], other["is_private"]) == ("other-crew", False, False)
    assert leads["is_member"] is True
    assert old["is_archived"] is True


async def test_channel_failures_a_real_workspace_produces(
    slack: SlackStandIn, client: AsyncWebClient
) -> None:
    slack.add_channel("C0PUBLIC", member=False)
    slack.add_channel("G0SECRET", private=True, member=False)
    slack.add_channel("C0OLD", archived=True)
    slack.remove_channel("C0GONE")

    async def post_error(channel: str) -> str:
        with pytest.raises(SlackApiError) as err:
            await client.chat_postMessage(channel=channel, text="hi")
        return str(err.value.response["error"])

    assert await post_error("C0PUBLIC") == "not_in_channel"
    assert await post_error("G0SECRET") == "channel_not_found"
    assert await post_error("C0OLD") == "is_archived"
    assert await post_error("C0GONE") == "channel_not_found"
    slack.scopes.add("chat:write.public")
    await client.chat_postMessage(channel="C0PUBLIC", text="public channels allow it")
    slack.auto_channels = False
    with pytest.raises(SlackApiError) as err:
        await client.conversations_info(channel="C0NEVERSEEN")
    assert err.value.response["error"] == "channel_not_found"


@pytest.mark.parametrize("error", ["invalid_auth", "token_revoked", "account_inactive"])
async def test_a_dead_token_fails_every_call_until_fixed(
    slack: SlackStandIn, client: AsyncWebClient, error: str
) -> None:
    slack.token_error = error
    for call in (
        client.auth_test,
        lambda: client.chat_postMessage(channel=CHANNEL, text="hi"),
        lambda: client.users_info(user=CREW),
        lambda: client.reactions_add(channel=CHANNEL, timestamp="1.2", name="eyes"),
    ):
        with pytest.raises(SlackApiError) as err:
            await call()
        assert err.value.response["error"] == error
    slack.token_error = None
    assert (await client.auth_test())["user_id"] == "U0TEXTBACK"


async def test_users_info_roles(slack: SlackStandIn, client: AsyncWebClient) -> None:
    slack.add_user("U0BOSS", "Grace Hopper", is_admin=True, is_owner=True)
    slack.add_user("U0GUEST", "Guest Person", is_restricted=True)

    boss = (await client.users_info(user="U0BOSS"))["user"]
    guest = (await client.users_info(user="U0GUEST"))["user"]
    ada = (await client.users_info(user=CREW))["user"]

    assert (boss["is_admin"], boss["is_owner"], boss["is_restricted"]) == (True, True, False)
    assert (guest["is_restricted"], guest["is_ultra_restricted"]) == (True, False)
    assert (ada["is_admin"], ada["real_name"]) == (False, "Ada Lovelace")


async def test_permalink_ephemeral_and_channel_view(
    slack: SlackStandIn, client: AsyncWebClient
) -> None:
    parent = await card(client)
    reply = (await client.chat_postMessage(channel=CHANNEL, text="on it", thread_ts=parent))["ts"]
    await client.chat_postEphemeral(channel=CHANNEL, user=CREW, text="only you")

    top = (await client.chat_getPermalink(channel=CHANNEL, message_ts=parent))["permalink"]
    inner = (await client.chat_getPermalink(channel=CHANNEL, message_ts=reply))["permalink"]
    assert top == f"https://textback-test.slack.com/archives/{CHANNEL}/p{parent.replace('.', '')}"
    assert inner.endswith(f"?thread_ts={parent}&cid={CHANNEL}")
    with pytest.raises(SlackApiError) as err:
        await client.chat_getPermalink(channel=CHANNEL, message_ts="1.000001")
    assert err.value.response["error"] == "message_not_found"
    assert [m["ts"] for m in slack.channel_messages(CHANNEL)] == [parent]
    assert [m["text"] for m in slack.thread_messages(CHANNEL, parent)] == ["on it"]
    # reply_broadcast: a reply "also sent to the channel" shows in both.
    shout = await client.chat_postMessage(
        channel=CHANNEL, text="urgent!", thread_ts=parent, reply_broadcast=True
    )
    assert shout["message"]["subtype"] == "thread_broadcast"
    assert [m["text"] for m in slack.channel_messages(CHANNEL)][1:] == ["urgent!"]
    assert [m["text"] for m in slack.thread_messages(CHANNEL, parent)] == ["on it", "urgent!"]
    assert slack.ephemerals[0]["user"] == CREW and slack.ephemerals[0]["text"] == "only you"
    await client.files_upload_v2(
        channel=CHANNEL, thread_ts=parent, content=b"PNG", filename="p.png", initial_comment="pic"
    )
    shared = slack.thread_messages(CHANNEL, parent)[-1]
    assert (shared["text"], shared["files"][0]["name"]) == ("pic", "p.png")
    assert slack.posts[-1]["text"] == "urgent!"  # a share is not a chat.postMessage


# ---- events -------------------------------------------------------------------------------


async def test_thread_reply_event_as_slack_sends_it(
    slack: SlackStandIn, app: ProductStub, client: AsyncWebClient
) -> None:
    parent = await card(client)
    text = "<@U0BOSS> <!subteam^S0CREW> on my way :truck: :+1::skin-tone-3:"
    delivery = await slack.people.send_message(CREW, CHANNEL, text, thread_ts=parent)

    assert delivery.ok and delivery.status == 200
    [received] = app.to("/slack/events")
    assert verified(received)
    envelope = received.json
    assert (envelope["type"], envelope["team_id"], envelope["event_id"]) == (
        "event_callback",
        "T0TEXTBACK",
        delivery.event_id,
    )
    assert envelope["api_app_id"] and envelope["token"] and envelope["event_time"]
    event = envelope["event"]
    assert (event["type"], event["channel"], event["user"], event["text"]) == (
        "message",
        CHANNEL,
        CREW,
        text,
    )
    assert event["thread_ts"] == parent and event["ts"] != parent
    assert event["event_ts"] == event["ts"]
    assert (event["channel_type"], event["team"]) == ("channel", "T0TEXTBACK")
    assert event["parent_user_id"] == "U0TEXTBACK"
    elements = event["blocks"][0]["elements"][0]["elements"]
    assert {"type": "user", "user_id": "U0BOSS"} in elements
    assert {"type": "usergroup", "usergroup_id": "S0CREW"} in elements
    assert {"type": "emoji", "name": "truck"} in elements
    assert {"type": "emoji", "name": "+1", "skin_tone": 3} in elements
    assert slack.thread_messages(CHANNEL, parent)[-1]["text"] == text


async def test_message_changed_and_deleted_shapes(
    slack: SlackStandIn, app: ProductStub, client: AsyncWebClient
) -> None:
    parent = await card(client)
    await slack.people.send_message(CREW, CHANNEL, "see you at 3", thread_ts=parent)
    ts = slack.thread_messages(CHANNEL, parent)[0]["ts"]
    await slack.people.edit_message(CHANNEL, ts, "see you at 4")
    await slack.people.delete_message(CHANNEL, ts)

    _, changed, deleted = (event_of(r) for r in app.to("/slack/events"))
    assert (changed["subtype"], changed["hidden"], changed["channel"]) == (
        "message_changed",
        True,
        CHANNEL,
    )
    assert changed["message"]["text"] == "see you at 4"
    assert (changed["message"]["ts"], changed["message"]["thread_ts"]) == (ts, parent)
    assert changed["message"]["edited"]["user"] == CREW
    assert changed["previous_message"]["text"] == "see you at 3"
    assert changed["ts"] != ts
    assert (deleted["subtype"], deleted["hidden"], deleted["deleted_ts"]) == (
        "message_deleted",
        True,
        ts,
    )
    assert deleted["previous_message"]["text"] == "see you at 4"
    assert slack.thread_messages(CHANNEL, parent) == []


async def test_a_deleted_message_loses_its_reactions_and_takes_no_more(
    slack: SlackStandIn, client: AsyncWebClient
) -> None:
    parent = await card(client)
    await slack.people.send_message(CREW, CHANNEL, "see you at 3", thread_ts=parent)
    ts = slack.thread_messages(CHANNEL, parent)[0]["ts"]
    await client.reactions_add(channel=CHANNEL, timestamp=ts, name="hourglass_flowing_sand")
    await slack.people.react(CREW, CHANNEL, ts, "eyes")

    await slack.people.delete_message(CHANNEL, ts)

    assert slack.workspace.reactions == set()
    assert slack.user_reactions == set()
    for method in (client.reactions_add, client.reactions_remove):
        with pytest.raises(SlackApiError) as refused:
            await method(channel=CHANNEL, timestamp=ts, name="hourglass_flowing_sand")
        assert refused.value.response["error"] == "message_not_found"
    await client.chat_postMessage(channel=CHANNEL, text="deleted by the bot")
    own = slack.channel_messages(CHANNEL)[-1]["ts"]
    await client.chat_delete(channel=CHANNEL, ts=own)
    with pytest.raises(SlackApiError, match="message_not_found"):
        await client.reactions_add(channel=CHANNEL, timestamp=own, name="eyes")


async def test_reactions_name_emoji_as_slack_does(
    slack: SlackStandIn, app: ProductStub, client: AsyncWebClient
) -> None:
    parent = await card(client)
    await slack.people.react(CREW, CHANNEL, parent, ":thumbsup::skin-tone-2:")
    await slack.people.react(CREW, CHANNEL, parent, "eyes")
    await slack.people.unreact(CREW, CHANNEL, parent, "eyes")

    added, eyes, removed = (event_of(r) for r in app.to("/slack/events"))
    assert added == {
        "type": "reaction_added",
        "user": CREW,
        "reaction": "+1::skin-tone-2",
        "item": {"type": "message", "channel": CHANNEL, "ts": parent},
        "item_user": "U0TEXTBACK",
        "event_ts": added["event_ts"],
    }
    assert (eyes["reaction"], removed["type"], removed["reaction"]) == (
        "eyes",
        "reaction_removed",
        "eyes",
    )
    with pytest.raises(ValueError, match="has no reaction"):
        await slack.people.unreact(CREW, CHANNEL, parent, "eyes")


async def test_no_events_from_a_channel_the_bot_is_not_in(
    slack: SlackStandIn, app: ProductStub
) -> None:
    slack.add_channel("C0ELSEWHERE", member=False)
    delivery = await slack.people.send_message(CREW, "C0ELSEWHERE", "hello?")

    assert delivery.skipped == "the bot is not a member of the channel"
    assert app.received == [] and slack.events.failed == []


async def test_slow_answer_is_a_failed_delivery_retried_with_the_same_event_id(
    slack: SlackStandIn, app: ProductStub
) -> None:
    slack.events.ack_seconds = 0.2
    app.hold = asyncio.Event()
    first = await slack.people.send_message(CREW, CHANNEL, "are you there?")

    assert first.status is None and first.retry_reason == "http_timeout"
    assert slack.events.failed == [first]
    app.hold.set()
    await slack.events.redeliver(first)

    original, retried = app.to("/slack/events")
    assert "X-Slack-Retry-Num" not in original.headers
    assert (retried.headers["X-Slack-Retry-Num"], retried.headers["X-Slack-Retry-Reason"]) == (
        "1",
        "http_timeout",
    )
    assert original.json["event_id"] == retried.json["event_id"] == first.event_id
    assert verified(retried) and first.ok and slack.events.failed == []


async def test_auto_retries_follow_an_error_answer_until_no_retry(
    slack: SlackStandIn, app: ProductStub
) -> None:
    slack.events.auto_retry_delays = (0, 0, 0)
    app.answers["/slack/events"] = lambda _: web.Response(status=500)
    failing = await slack.people.send_message(CREW, CHANNEL, "one")
    await slack.settled()
    assert [r.headers.get("X-Slack-Retry-Num") for r in app.to("/slack/events")] == [
        None,
        "1",
        "2",
        "3",
    ]
    assert app.to("/slack/events")[1].headers["X-Slack-Retry-Reason"] == "http_error"
    assert len(failing.attempts) == 4

    app.received.clear()
    app.answers["/slack/events"] = lambda _: web.Response(
        status=500, headers={"X-Slack-No-Retry": "1"}
    )
    await slack.people.send_message(CREW, CHANNEL, "two")
    await slack.settled()
    assert len(app.to("/slack/events")) == 1


async def test_retry_option_sends_slacks_headers(slack: SlackStandIn, app: ProductStub) -> None:
    await slack.people.send_message(CREW, CHANNEL, "again", retry=(2, "http_timeout"))
    [received] = app.to("/slack/events")
    assert received.headers["X-Slack-Retry-Num"] == "2"
    assert received.headers["X-Slack-Retry-Reason"] == "http_timeout"


async def test_button_click_and_response_url(
    slack: SlackStandIn, app: ProductStub, client: AsyncWebClient
) -> None:
    ts = await card(client)
    await slack.people.click_button(CREW, CHANNEL, ts, "claim")

    [received] = app.to("/slack/events")
    assert verified(received)
    assert received.headers["Content-Type"] == "application/x-www-form-urlencoded"
    payload = payload_of(received)
    assert payload["type"] == "block_actions"
    assert (payload["user"]["id"], payload["channel"]["id"]) == (CREW, CHANNEL)
    assert payload["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": CHANNEL,
        "is_ephemeral": False,
    }
    [action] = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"]) == (
        "claim",
        "lead",
        "+12025550123",
    )
    assert payload["message"]["ts"] == ts and payload["trigger_id"]
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": []}
    await client.views_open(trigger_id=payload["trigger_id"], view=modal)
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id=payload["trigger_id"], view=modal)
    assert err.value.response["error"] == "exchanged_trigger_id"

    async with aiohttp.ClientSession() as session:
        replace = {"replace_original": True, "text": "Claimed by Ada"}
        async with session.post(payload["response_url"], json=replace) as answer:
            assert answer.status == 200
        for _ in range(4):
            async with session.post(payload["response_url"], json={"text": "psst"}) as answer:
                assert answer.status == 200
        async with session.post(payload["response_url"], json={"text": "sixth"}) as answer:
            assert answer.status == 404  # five uses within 30 minutes

    assert slack.messages[(CHANNEL, ts)]["text"] == "Claimed by Ada"
    with pytest.raises(LookupError):
        await slack.people.click_button(CREW, CHANNEL, ts, "no-such-button")


async def test_a_person_picked_in_a_slash_command_arrives_as_should_escape_says(
    slack: SlackStandIn, app: ProductStub
) -> None:
    typed = f"oncall mon-fri <@{CREW}> in <#{CHANNEL}> see https://example.com/x"
    await slack.people.run_command(CREW, "/textback", typed, channel=CHANNEL)
    slack.command_escapes["/textback"] = False
    await slack.people.run_command(CREW, "/textback", typed, channel=CHANNEL)

    escaped, plain = (dict(parse_qsl(r.body.decode()))["text"] for r in app.to("/slack/events"))
    assert escaped == (
        f"oncall mon-fri <@{CREW}|ada.lovelace> in <#{CHANNEL}|c0leads> see <https://example.com/x>"
    )
    assert plain == "oncall mon-fri @ada.lovelace in #c0leads see https://example.com/x"


async def test_slash_command_form_and_in_channel_response(
    slack: SlackStandIn, app: ProductStub
) -> None:
    await slack.people.run_command(CREW, "/textback", "status", channel=CHANNEL)

    [received] = app.to("/slack/events")
    assert verified(received)
    form = dict(parse_qsl(received.body.decode()))
    assert (form["command"], form["text"], form["user_id"], form["user_name"]) == (
        "/textback",
        "status",
        CREW,
        "ada.lovelace",
    )
    assert (form["channel_id"], form["channel_name"], form["team_id"]) == (
        CHANNEL,
        "c0leads",
        "T0TEXTBACK",
    )
    assert form["trigger_id"] and form["response_url"].startswith(slack.origin)
    async with aiohttp.ClientSession() as session:
        await session.post(form["response_url"], json={"text": "All good"})
        await session.post(
            form["response_url"], json={"text": "Posted", "response_type": "in_channel"}
        )
    assert slack.ephemerals[-1] == {
        "channel": CHANNEL,
        "user": CREW,
        "text": "All good",
        "blocks": None,
        "thread_ts": None,
        "message_ts": None,
    }
    assert [m["text"] for m in slack.channel_messages(CHANNEL)] == ["Posted"]


async def test_slash_command_answer_shows_as_slack_shows_it(
    slack: SlackStandIn, app: ProductStub
) -> None:
    """The body of the app's answer: a message payload is ephemeral unless in_channel, plain
    text is ephemeral, an empty body shows nothing."""
    answers = iter(
        [
            web.json_response({"text": "Paused until Monday", "blocks": BUTTONS}),
            web.json_response({"response_type": "in_channel", "text": "Everyone sees this"}),
            web.Response(text="plain words"),
            web.Response(status=200),
            web.json_response({"text": "refused"}, status=500),
        ]
    )
    app.answers["/slack/events"] = lambda _: next(answers)

    for text in ("pause", "shout", "plain", "quiet", "broken"):
        await slack.people.run_command(CREW, "/textback", text, channel=CHANNEL)

    assert [(e["user"], e["text"]) for e in slack.ephemerals] == [
        (CREW, "Paused until Monday"),
        (CREW, "plain words"),
    ]
    assert slack.ephemerals[0]["blocks"] == BUTTONS
    assert [m["text"] for m in slack.channel_messages(CHANNEL)] == ["Everyone sees this"]


async def test_bolt_accepts_what_the_simulator_delivers(slack: SlackStandIn) -> None:
    """The real verifier end to end: Bolt checks the signature and calls auth.test here."""
    heard: list[dict[str, Any]] = []
    bolt = AsyncApp(
        signing_secret=SECRET, client=AsyncWebClient(token=slack.token, base_url=slack.url)
    )

    @bolt.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        heard.append(event)

    @bolt.event("reaction_added")
    async def on_reaction(event: dict[str, Any]) -> None:
        heard.append(event)

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", events)
    server = TestServer(web_app)
    await server.start_server()
    try:
        slack.deliver_to(str(server.make_url("")), SECRET)
        message = await slack.people.send_message(CREW, CHANNEL, "hello :wave:")
        ts = slack.channel_messages(CHANNEL)[0]["ts"]
        reaction = await slack.people.react(CREW, CHANNEL, ts, "eyes")
        await wait_until(lambda: len(heard) == 2, timeout=5)
    finally:
        await server.close()

    assert message.status == reaction.status == 200
    assert [e["type"] for e in heard] == ["message", "reaction_added"]
    assert slack.calls_to("auth.test")


async def test_users_list_pages_every_member_with_their_roles(
    slack: SlackStandIn, client: AsyncWebClient
) -> None:
    slack.add_user("U0A", "Ann Admin", is_admin=True)
    slack.add_user("U0B", "Bo Guest", is_restricted=True)
    slack.add_user("U0C", "Cy Member")
    first = await client.users_list(limit=2)
    second = await client.users_list(limit=2, cursor=first["response_metadata"]["next_cursor"])
    members = first["members"] + second["members"]
    assert [m["id"] for m in members] == ["U0A", "U0B", "U0C", CREW]
    assert second["response_metadata"]["next_cursor"] == ""
    assert [(m["is_admin"], m["is_restricted"]) for m in members] == [
        (True, False),
        (False, True),
        (False, False),
        (False, False),
    ]
    assert len((await client.users_list())["members"]) == 4  # no limit: all at once
    with pytest.raises(SlackApiError) as err:
        await client.users_list(cursor="not-a-cursor")
    assert err.value.response["error"] == "invalid_cursor"


async def test_a_modal_submission_carries_the_view_and_what_was_typed(
    slack: SlackStandIn, app: ProductStub, client: AsyncWebClient
) -> None:
    await slack.people.run_command(CREW, "/textback", "edit", channel=CHANNEL)
    trigger = dict(parse_qsl(app.to("/slack/events")[0].body.decode()))["trigger_id"]
    modal = {
        "type": "modal",
        "callback_id": "editor",
        "private_metadata": "line-1",
        "title": {"type": "plain_text", "text": "Edit"},
        "blocks": [{"type": "input", "block_id": "b", "element": {"action_id": "a"}}],
    }
    opened = await client.views_open(trigger_id=trigger, view=modal)
    values = {"b": {"a": {"type": "plain_text_input", "value": "Hello"}}}

    delivery = await slack.people.submit_view(CREW, opened["view"]["id"], values)

    assert delivery.ok
    payload = payload_of(app.to("/slack/events")[1])
    assert payload["type"] == "view_submission"
    assert payload["user"]["id"] == CREW
    view = payload["view"]
    assert (view["id"], view["callback_id"], view["private_metadata"]) == (
        opened["view"]["id"],
        "editor",
        "line-1",
    )
    assert view["state"]["values"] == values
    with pytest.raises(LookupError):
        await slack.people.submit_view(CREW, "V-none", values)
