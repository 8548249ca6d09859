"""`python -m bot demo` in process: the demo's own endpoints drive the real app through the
simulators, and what the page would show comes back from /demo/state."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.demo import config, sandbox
from bot.demo.sandbox import Sandbox
from bot.simulators import SlackStandIn, TwilioStandIn
from tests.conftest import Harness
from tests.demo_helpers import DemoClient, cards, phone_texts, running_demo, thread_texts
from tests.waiting import wait_until


@pytest.fixture
async def demo(
    redis: Redis, redis_url: str, key_prefix: str, tmp_path: Path
) -> AsyncIterator[Sandbox]:
    async with running_demo(redis_url, key_prefix, tmp_path, real_time=False) as box:
        yield box


@pytest.fixture
async def page(demo: Sandbox) -> AsyncIterator[DemoClient]:
    async with aiohttp.ClientSession() as http:
        yield DemoClient(http, demo)


async def test_the_demo_routes_exist_only_in_the_demo(harness: Harness) -> None:
    for path in ("/demo", "/demo/state", "/demo/demo.js"):
        assert (await harness.client.get(path)).status == 404
    assert (await harness.client.post("/demo/call", json={"choice": "no-answer"})).status == 404


async def test_demo_settings_ignore_the_environment_and_dot_env(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "REDIS_URL=redis://10.0.0.9:6379/0\nSLACK_BOT_TOKEN=xoxb-real-one\n"
        "PUBLIC_URL=https://real.example.com\nRING_SECONDS=30\nLINES_FILE=/nowhere.toml\n"
    )
    monkeypatch.setenv("REDIS_URL", "redis://elsewhere:6379/0")
    monkeypatch.setenv("BUSINESS_NAME", "A Real Business")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "a-real-token")

    settings = config.demo_settings(
        4321,
        "redis://127.0.0.1:7777/0",
        slack,
        twilio,
        signing_secret="demo-secret",
        data_dir=tmp_path,
    )

    assert settings.redis_url == "redis://127.0.0.1:7777/0"
    assert settings.public_url == "http://127.0.0.1:4321"
    assert (settings.host, settings.port) == ("127.0.0.1", 4321)
    assert settings.slack_bot_token.get_secret_value() == slack.token
    assert settings.twilio_auth_token.get_secret_value() == twilio.auth_token
    assert (settings.business_name, settings.ring_seconds) == (config.BUSINESS_NAME, 5)
    assert settings.lines_file is None


async def test_a_missed_call_goes_around(page: DemoClient, demo: Sandbox) -> None:
    await page.post("/demo/call", {"choice": "no-answer"}, status=202)

    async def around() -> dict[str, object] | None:
        state = await page.state()
        return state if phone_texts(state) and cards(state) else None

    state = await wait_until(around, timeout=20, message="no text or no card")
    [text] = phone_texts(state)
    assert "Johnson Electric" in text and "Reply STOP to opt out" in text
    [card] = cards(state)
    assert card["blocks"][0]["type"] == "section" and "Missed call" in card["text"]
    [call] = [e for e in state["phone"]["timeline"] if e["kind"] == "call"]
    assert call["outcome"] == "Nobody picked up"
    assert call["heard"] == [
        "Sorry we missed your call. We'll text you at this number in a moment."
    ]
    # As on Twilio, the text's status callbacks reached the product's route, signed.
    await demo.twilio.settled()
    callbacks = demo.twilio.texts.status_callbacks
    assert [c["MessageStatus"] for c in callbacks] == ["sent", "delivered"]
    assert all(c["delivery"].ok for c in callbacks)


async def test_voicemail_picking_up_counts_as_a_missed_call(page: DemoClient) -> None:
    await page.post("/demo/call", {"choice": "voicemail", "voicemail": "Call me back"}, 202)

    state = await wait_until(lambda: _ended(page), timeout=20, message="the call never ended")
    [call] = [e for e in state["phone"]["timeline"] if e["kind"] == "call"]
    assert call["outcome"].startswith("The crew's voicemail picked up")
    assert call["crew_heard"] == ["Call for Johnson Electric. Press any key to take it."]
    await wait_until(lambda: _has_card(page), timeout=20, message="no lead card")


async def test_the_crew_answering_sends_no_text(page: DemoClient, demo: Sandbox) -> None:
    await page.post("/demo/call", {"choice": "answer"}, status=202)

    state = await wait_until(lambda: _ended(page), timeout=20, message="the call never ended")
    [call] = [e for e in state["phone"]["timeline"] if e["kind"] == "call"]
    assert call["outcome"] == "The crew took the call"
    await demo.twilio.settled()
    assert demo.twilio.messages == [] and phone_texts(await page.state()) == []


async def test_a_photo_reaches_the_thread_and_the_page_can_show_it(
    page: DemoClient, demo: Sandbox
) -> None:
    await page.post("/demo/call", {"choice": "no-answer"}, status=202)
    await wait_until(lambda: _has_card(page), timeout=20, message="no lead card")

    await page.post("/demo/text", {"body": "Here it is", "photo": True})

    async def photo_in_thread() -> list[dict[str, str]]:
        [card] = cards(await page.state())
        return [f for reply in card["replies"] for f in reply["files"]]

    [shared] = await wait_until(photo_in_thread, timeout=20, message="no photo in the thread")
    async with page.http.get(f"{demo.url}{shared['url']}") as response:
        assert response.status == 200 and response.content_type == "image/png"
        assert await response.read() == demo.sides.phone.photo
    [sent] = [e for e in (await page.state())["phone"]["timeline"] if e.get("dir") == "out"]
    assert (sent["body"], sent["photo"], sent["state"]) == ("Here it is", True, "sent")


async def test_textback_answers_show_only_to_whoever_ran_it(page: DemoClient) -> None:
    await page.post("/demo/slack/command", {"user": "U0DEV", "text": "/textback status"})

    state = await page.state()
    [answer] = state["slack"]["ephemerals"]
    assert answer["user"] == "U0DEV" and "Johnson Electric" in answer["text"]
    assert state["slack"]["messages"] == []  # nothing in the channel for everyone


async def test_stop_then_a_crew_reply_is_not_sent_and_the_thread_says_why(
    page: DemoClient, demo: Sandbox
) -> None:
    await page.post("/demo/call", {"choice": "no-answer"}, status=202)
    card = await wait_until(lambda: _has_card(page), timeout=20, message="no lead card")
    await page.post("/demo/text", {"body": "STOP"})
    state = await page.state()
    assert [e["by"] for e in state["phone"]["timeline"] if e.get("dir") == "in"] == [
        "business",
        "twilio",
    ]

    await page.post(
        "/demo/slack/message",
        {"user": "U0SAM", "text": "Still need help?", "thread_ts": card["ts"]},
    )

    async def refused() -> bool:
        [card_now] = cards(await page.state())
        return any("Not sent: this caller opted out" in t for t in thread_texts(card_now))

    await wait_until(refused, timeout=20, message="the thread never said why")
    assert "Still need help?" not in phone_texts(await page.state())
    assert [m["Body"] for m in demo.twilio.messages if "Still need" in m["Body"]] == []


async def test_a_phone_makes_one_call_at_a_time(page: DemoClient, demo: Sandbox) -> None:
    demo.twilio.voice.real_time = True  # the first call rings its 5 s

    await page.post("/demo/call", {"choice": "no-answer"}, status=202)
    busy = await page.post("/demo/call", {"choice": "answer"}, status=400)
    stuck = await page.post("/demo/caller", {}, status=400)

    assert "already on a call" in busy["error"] and "still on a call" in stuck["error"]
    [call] = (await page.state())["phone"]["timeline"]
    assert call["choice"] == "no-answer" and call["stage"] != "ended"


async def test_a_new_caller_starts_an_empty_phone(page: DemoClient) -> None:
    await page.post("/demo/text", {"body": "hello"})
    answer = await page.post("/demo/caller", {})

    state = await page.state()
    assert answer["number"] == state["phone"]["number"] == config.CALLERS[1]
    assert state["phone"]["timeline"] == []


async def test_bad_requests_get_their_reason(page: DemoClient, demo: Sandbox) -> None:
    http = page.http
    async with http.post(f"{page.base}/demo/text", data={"body": "hi"}) as response:
        assert response.status == 415
    async with http.post(
        f"{page.base}/demo/text",
        json={"body": "hi"},
        headers={"Host": f"evil.example:{demo.settings.port}"},
    ) as response:
        assert response.status == 403
    assert "choice" in (await page.post("/demo/call", {"choice": "ring"}, 400))["error"]
    assert "type a message" in (await page.post("/demo/text", {"body": " "}, 400))["error"]
    assert "photo" in (await page.post("/demo/text", {"body": "x", "photo": "yes"}, 400))["error"]
    unknown = await page.post("/demo/slack/message", {"user": "U0NOBODY", "text": "hi"}, 400)
    assert "not on the crew" in unknown["error"]
    gone = {"user": "U0DEV", "ts": "1.000000", "name": "eyes"}
    assert "gone" in (await page.post("/demo/slack/react", gone, 400))["error"]
    other = await page.post("/demo/slack/command", {"user": "U0DEV", "text": "/giphy cats"}, 400)
    assert "only /textback" in other["error"]
    assert (await page.state())["phone"]["timeline"] == []  # nothing bad was sent anywhere


async def _ended(page: DemoClient) -> dict[str, object] | None:
    state = await page.state()
    calls = [e for e in state["phone"]["timeline"] if e["kind"] == "call"]
    return state if calls and calls[-1]["stage"] == "ended" else None


async def _has_card(page: DemoClient) -> dict[str, object] | None:
    found = cards(await page.state())
    return found[0] if found else None


async def test_a_port_in_use_is_said_plainly(
    redis: Redis, redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(sandbox.PortInUse, match=f"port {port} is already in use"):
            async with sandbox.running(port, redis_url, tmp_path, key_prefix=key_prefix):
                pass
