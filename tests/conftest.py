"""Shared test fixtures: a real Redis, loopback Slack/Twilio stand-ins, and the real app.

Redis: the one at 127.0.0.1:6379 when it answers (shared by everything on the machine, so each
test gets database TEST_REDIS_DB and its own key prefix, deleted afterwards); otherwise a
throwaway server started here. TEST_REDIS_URL points the suite elsewhere.

Redis Cluster: `pytest --redis-cluster` runs the whole suite against a 3-master cluster started
here (tests/local_cluster.py), or against the one TEST_REDIS_CLUSTER_URL names
(`redis+cluster://host:port`). Without it, tests/test_cluster_smoke.py still runs a few core
tests on a cluster.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from redis.asyncio import Redis

from bot import local_redis
from bot.app import SERVICES, create_app
from bot.services import Services
from bot.settings import Settings
from storage import connection as redis_client
from tests import local_cluster
from tests.signing import slack_headers, twilio_signature
from tests.standins import SlackStandIn, TwilioStandIn
from tests.waiting import wait_until

# Property tests share one running app per test (a function-scoped fixture, on purpose: each
# example uses fresh sids), a modest example count, no deadline (a request waits on Redis), and a
# derandomized run, so a failure reproduces on every machine and CI.
hypothesis_settings.register_profile(
    "textback",
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# HYPOTHESIS_PROFILE=thorough: many random examples, for a hunt on a developer's machine.
hypothesis_settings.register_profile(
    "thorough",
    parent=hypothesis_settings.get_profile("textback"),
    max_examples=1000,
    derandomize=False,
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "textback"))

TEST_REDIS_DB = 13
PUBLIC_URL = "https://textback.example.test"
SIGNING_SECRET = "test-signing-secret"
CHANNEL = "C0LEADS"
BUSINESS_NUMBER = "+12125550100"
CALLER = "+12025550123"
CREW_USER = "U0CREW"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--redis-cluster",
        action="store_true",
        help="run every test against a local 3-master Redis Cluster (or TEST_REDIS_CLUSTER_URL)",
    )
    parser.addoption(
        "--soak",
        action="store_true",
        default=False,
        help="run the fault suite's long form (tests/faults): hundreds of events, long outages",
    )


@pytest.fixture(scope="session")
def redis_cluster_url() -> Iterator[str]:
    """A Redis Cluster for the session: TEST_REDIS_CLUSTER_URL, or one started here."""
    configured = os.environ.get("TEST_REDIS_CLUSTER_URL")
    if configured:
        yield configured
        return
    cluster = local_cluster.start()
    try:
        yield cluster.url
    finally:
        cluster.stop()


def on_cluster(config: pytest.Config) -> bool:
    return bool(config.getoption("redis_cluster") or os.environ.get("TEST_REDIS_CLUSTER_URL"))


@pytest.fixture(scope="session")
def redis_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if on_cluster(request.config):
        yield request.getfixturevalue("redis_cluster_url")
        return
    configured = os.environ.get("TEST_REDIS_URL")
    if configured:
        yield configured
        return
    if local_redis.answers("127.0.0.1", 6379):
        yield f"redis://127.0.0.1:6379/{TEST_REDIS_DB}"
        return
    port = local_redis.free_port()
    process = local_redis.start(port, None, persist=False)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def key_prefix() -> str:
    return f"tbtest-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def redis(redis_url: str, key_prefix: str) -> AsyncIterator[Redis]:
    client = redis_client.connect(redis_url)
    yield client
    # On a cluster, scan_iter walks every master and delete() splits the keys by slot.
    keys = [key async for key in client.scan_iter(match=f"{key_prefix}:*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    # The crew member the tests act as: a member of the workspace (not an admin, not a guest).
    async with SlackStandIn(users={CREW_USER: "Casey Crew"}) as standin:
        yield standin


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioStandIn]:
    async with TwilioStandIn() as standin:
        yield standin


class Clock:
    """Real time plus an offset the test can move forward: waits stay real, days pass at will."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come only from what each test passes, never from the machine's environment."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    for name in ("TWILIO_EDGE", "TWILIO_REGION"):
        monkeypatch.delenv(name, raising=False)


def make_settings(
    redis_url: str, key_prefix: str, slack: SlackStandIn, twilio: TwilioStandIn, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "public_url": PUBLIC_URL,
        "redis_url": redis_url,
        "redis_key_prefix": key_prefix,
        "slack_bot_token": slack.token,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_channel_id": CHANNEL,
        "slack_api_url": slack.url,
        "twilio_account_sid": twilio.account_sid,
        "twilio_auth_token": twilio.auth_token,
        "twilio_api_url": twilio.url,
        "business_name": "Johnson Electric",
        "business_timezone": "America/New_York",
        "business_hours": "Daily 00:00-24:00",
        "forward_to": "+12025550188",
        "slack_posts_per_second": 50,
        "slack_updates_per_second": 50,
        "weekly_digest": False,  # a test that wants Monday's digest turns it on
        # Crew replies go out at once; the undo window's tests set REPLY_UNDO_SECONDS.
        "reply_undo_seconds": 0,
        # Tests move the clock on by leaps (a backoff, a day) and a worker sleeps in real time
        # until its next round: shorter rounds see each leap sooner. tests/test_idle.py counts
        # the default's.
        "worker_idle_seconds": 0.2,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Harness:
    """The running app plus ways to reach it the way Twilio and Slack do."""

    client: TestClient[Any, Any]
    settings: Settings
    slack: SlackStandIn
    twilio: TwilioStandIn
    clock: Clock

    @property
    def services(self) -> Services:
        return self.client.server.app[SERVICES]

    def deliveries_on(self) -> Harness:
        """Slack and Twilio call the app as the real services do: signed webhooks for what
        people do (`slack.people.send_message/edit_message/delete_message`,
        `twilio.text_in`), with Twilio's own keyword handling in front of ours."""
        app_url = str(self.client.make_url("")).rstrip("/")
        self.slack.deliver_to(app_url, SIGNING_SECRET)
        self.twilio.deliver_to(app_url, PUBLIC_URL)
        return self

    async def drained(self, timeout: float = 10.0) -> None:
        """Wait until the outbox is empty: every job performed and acknowledged, no retry due."""

        async def empty() -> bool:
            depth = await self.services.outbox.depth()
            return not any(depth.values())

        await wait_until(empty, timeout=timeout, message="outbox did not drain")

    async def twilio_post(
        self, path: str, params: dict[str, str], *, signature: str | None = None
    ) -> Any:
        """POST a form the way Twilio does, signed over PUBLIC_URL + path (query included)."""
        url = PUBLIC_URL + path
        if signature is None:
            signature = twilio_signature(
                self.settings.twilio_auth_token.get_secret_value(), url, params
            )
        return await self.client.post(path, data=params, headers={"X-Twilio-Signature": signature})

    async def missed_call(
        self,
        caller: str = CALLER,
        call_sid: str | None = None,
        status: str = "no-answer",
        **extra: str,
    ) -> Any:
        params = {
            "CallSid": call_sid or new_sid("CA"),
            "From": caller,
            "To": BUSINESS_NUMBER,
            "Direction": "inbound",
            "DialCallStatus": status,
            **extra,
        }
        return await self.twilio_post("/twilio/voice/dial-status", params)

    async def caller_text(
        self, body: str, caller: str = CALLER, message_sid: str | None = None, **extra: str
    ) -> Any:
        params = {
            "MessageSid": message_sid or new_sid("SM"),
            "From": caller,
            "To": BUSINESS_NUMBER,
            "Body": body,
            "NumMedia": "0",
            **extra,
        }
        return await self.twilio_post("/twilio/sms", params)

    async def slack_event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        body = json.dumps(
            {
                "type": "event_callback",
                "team_id": "T0TEAM",
                "api_app_id": "A0APP",
                "event_id": event_id or new_sid("Ev"),
                "event_time": int(time.time()),
                "event": event,
            }
        )
        signed = slack_headers(SIGNING_SECRET, body)
        return await self.client.post(
            "/slack/events",
            data=body,
            headers={"Content-Type": "application/json", **signed, **(headers or {})},
        )

    async def crew_reply(self, thread_ts: str, text: str, **extra: Any) -> Any:
        event = {
            "type": "message",
            "channel": CHANNEL,
            "user": CREW_USER,
            "text": text,
            "ts": f"{time.time():.6f}",
            "thread_ts": thread_ts,
            **extra,
        }
        return await self.slack_event(event)


def cards(harness: Harness) -> list[dict[str, Any]]:
    """Top-level messages in the leads channel (lead cards and channel notices), oldest first."""
    return [
        m
        for (channel, _), m in harness.slack.messages.items()
        if channel == CHANNEL and not m.get("thread_ts")
    ]


def thread(harness: Harness, ts: str) -> list[str]:
    """Texts posted inside the thread under `ts`, oldest first."""
    return [p["text"] for p in harness.slack.replies(ts)]


def card_ts(harness: Harness) -> str | None:
    """ts of the first top-level message the bot posted (the lead card), if any."""
    for (_, ts), message in harness.slack.messages.items():
        if not message.get("thread_ts"):
            return ts
    return None


async def slash_command(
    harness: Harness, text: str, command: str = "/textback", user_id: str = CREW_USER
) -> Any:
    """POST a signed slash command the way Slack does."""
    body = urlencode(
        {
            "command": command,
            "text": text,
            "user_id": user_id,
            "channel_id": CHANNEL,
            "team_id": "T0TEAM",
            "response_url": "https://hooks.slack.invalid/x",
            "trigger_id": "1.2",
        }
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        **slack_headers(SIGNING_SECRET, body),
    }
    return await harness.client.post("/slack/events", data=body, headers=headers)


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


async def start_harness(
    redis_url: str,
    key_prefix: str,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    clock: Clock,
    **overrides: Any,
) -> Harness:
    settings = make_settings(redis_url, key_prefix, slack, twilio, **overrides)
    app: web.Application = create_app(settings, clock=clock)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    harness = Harness(client=client, settings=settings, slack=slack, twilio=twilio, clock=clock)
    # Ready once the app has listed the workspace's members (who may use /textback), as a
    # server is by the time anyone types a command.
    await wait_until(
        harness.services.line_config.last_sweep, timeout=10, message="members never listed"
    )
    # Tests count what the app asks Slack from here on: the start's list is not theirs.
    slack.calls.clear()
    slack.finished.clear()
    return harness


@pytest.fixture
async def harness(
    clean_env: None,
    redis: Redis,
    redis_url: str,
    key_prefix: str,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    clock: Clock,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Harness]:
    """The app with its worker. Override settings with @pytest.mark.settings(NAME=value)."""
    marker = request.node.get_closest_marker("settings")
    overrides = {k.lower(): v for k, v in (marker.kwargs if marker else {}).items()}
    h = await start_harness(redis_url, key_prefix, slack, twilio, clock, **overrides)
    yield h
    await h.client.close()


@pytest.fixture
def live(harness: Harness) -> Harness:
    """The harness with the simulators delivering to it (Harness.deliveries_on)."""
    return harness.deliveries_on()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "settings(**values): settings overrides for the harness")
