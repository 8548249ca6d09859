"""`python -m bot serve` as a real process: the README's server command, end to end."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from bot import local_redis
from tests.conftest import BUSINESS_NUMBER, CALLER, CHANNEL, PUBLIC_URL, SIGNING_SECRET
from tests.load.procs import app_env
from tests.signing import twilio_signature
from tests.standins import SlackStandIn, TwilioStandIn
from tests.waiting import wait_until


@pytest.fixture
def port() -> int:
    return local_redis.free_port()


def serve(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def stop_later() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


async def test_serve_process_texts_back_a_missed_call_and_stops_on_sigterm(
    redis: Redis,
    redis_url: str,
    key_prefix: str,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    port: int,
    tmp_path: Path,
    stop_later: list[subprocess.Popen[bytes]],
) -> None:
    env = {
        "PORT": str(port),
        **app_env(
            public_url=PUBLIC_URL,
            redis_url=redis_url,
            prefix=key_prefix,
            slack=slack,
            twilio=twilio,
            signing_secret=SIGNING_SECRET,
            channel=CHANNEL,
        ),
    }
    process = serve(env, tmp_path)
    stop_later.append(process)
    base = f"http://127.0.0.1:{port}"

    async with aiohttp.ClientSession() as http:

        async def healthy() -> bool:
            try:
                async with http.get(f"{base}/healthz") as response:
                    return response.status == 200
            except aiohttp.ClientError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                return False

        await wait_until(healthy, timeout=30, message="serve never became healthy")

        params = {
            "CallSid": "CA" + "7" * 32,
            "From": CALLER,
            "To": BUSINESS_NUMBER,
            "Direction": "inbound",
            "CallStatus": "no-answer",
        }
        # No FORWARD_TO: the incoming call itself is the missed call.
        params_voice = {k: v for k, v in params.items() if k != "CallStatus"}
        url = PUBLIC_URL + "/twilio/voice"
        signature = twilio_signature(twilio.auth_token, url, params_voice)
        async with http.post(
            f"{base}/twilio/voice", data=params_voice, headers={"X-Twilio-Signature": signature}
        ) as response:
            assert response.status == 200
            assert "<Hangup" in await response.text()

    sent = await wait_until(
        lambda: twilio.messages_to(CALLER) or process.poll() is not None, timeout=10
    )
    assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
    assert "Johnson Electric" in sent[0]["Body"]
    await wait_until(lambda: slack.posts, timeout=10)
    link = re.search(r"/i/([\w-]+)", sent[0]["Body"])
    assert link is not None, sent[0]["Body"]
    async with aiohttp.ClientSession() as http, http.get(f"{base}{link[0]}") as page:
        assert page.status == 200  # the caller opens their intake page

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    logs = process.stderr.read().decode() if process.stderr else ""
    assert twilio.auth_token not in logs
    assert slack.token not in logs
    assert "5550123" not in logs  # phone numbers are masked in logs
    assert '"GET /i/… HTTP/1.1" 200' in logs  # the access log line, without the intake token
    assert link[1] not in logs


def test_local_redis_persists_across_restart(tmp_path: Path) -> None:
    """The server `serve` starts when no Redis is configured keeps its data (append-only file)."""
    import redis as sync_redis

    port = local_redis.free_port()
    first = local_redis.start(port, tmp_path)
    try:
        with sync_redis.Redis(port=port) as client:
            client.set("kept", "yes")
    finally:
        first.terminate()
        first.wait(timeout=10)
    second = local_redis.start(port, tmp_path)
    try:
        with sync_redis.Redis(port=port) as client:
            assert client.get("kept") == b"yes"
    finally:
        second.terminate()
        second.wait(timeout=10)
