"""/healthz, /metrics and /textback status tell an operator what state the service is in."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import local_redis
from bot.app import create_app
from bot.domain.jobs import Job, SendSms, SlackThread
from bot.outbox.worker import Worker
from tests.conftest import CALLER, Clock, Harness, make_settings, new_sid, slash_command
from tests.signing import twilio_signature
from tests.standins import SlackStandIn, TwilioStandIn
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent

METRICS_TOKEN = "metrics-test-token"
BEARER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


async def test_healthz_is_200_when_redis_answers(harness: Harness) -> None:
    response = await harness.client.get("/healthz")
    assert response.status == 200
    assert (await response.json())["ok"] is True


async def test_redis_down_gives_503_health_and_retryable_webhooks(
    clean_env: None, slack: SlackStandIn, twilio: TwilioStandIn, key_prefix: str
) -> None:
    dead = f"redis://127.0.0.1:{local_redis.free_port()}/0"  # nothing listens there
    settings = make_settings(dead, key_prefix, slack, twilio)
    client = TestClient(TestServer(create_app(settings, clock=Clock())))
    await client.start_server()
    try:
        health = await client.get("/healthz")
        assert health.status == 503
        params = {
            "CallSid": new_sid("CA"),
            "From": CALLER,
            "To": "+12125550100",
            "DialCallStatus": "no-answer",
            "Direction": "inbound",
        }
        url = "https://textback.example.test/twilio/voice/dial-status"
        signature = twilio_signature(twilio.auth_token, url, params)
        response = await client.post(
            "/twilio/voice/dial-status", data=params, headers={"X-Twilio-Signature": signature}
        )
        # Not a 200: Twilio must not think we stored what we could not.
        assert response.status == 503
        assert twilio.messages == []
    finally:
        await client.close()


@pytest.mark.settings(METRICS_TOKEN=METRICS_TOKEN)
async def test_metrics_count_missed_calls_and_texts(harness: Harness) -> None:
    await harness.missed_call()
    await harness.drained()
    body = await (await harness.client.get("/metrics", headers=BEARER)).text()
    assert 'textback_missed_calls_total{line="default"} 1.0' in body
    assert 'textback_autotexts_total{line="default",outcome="send"} 1.0' in body
    assert 'textback_sms_sent_total{purpose="auto-text (business)"} 1.0' in body
    assert "textback_webhook_seconds_bucket" in body


@pytest.mark.settings(METRICS_TOKEN=METRICS_TOKEN)
async def test_webhook_timings_are_labelled_with_the_path_twilio_and_slack_call(
    harness: Harness,
) -> None:
    await harness.missed_call()
    await harness.caller_text("Is tomorrow ok?")
    await slash_command(harness, "help")
    body = await (await harness.client.get("/metrics", headers=BEARER)).text()
    for route in ("/twilio/voice/dial-status", "/twilio/sms", "/slack/events"):
        assert f'textback_webhook_seconds_count{{route="{route}"}} 1.0' in body, route


async def test_textback_status_shows_configuration_and_queues(harness: Harness) -> None:
    response = await slash_command(harness, "status")
    assert response.status == 200
    text = await response.text()
    assert "Johnson Electric" in text
    assert "Redis: ok" in text
    assert "+12025550188" in text
    assert "queued jobs: sms 0, slack 0" in text


# --- the deep check, the outbox's counts, the dead jobs -------------------------------------------


async def test_deep_health_is_200_when_slack_twilio_and_the_outbox_are_fine(
    harness: Harness,
) -> None:
    response = await harness.client.get("/healthz?deep=1")
    report = await response.json()
    assert response.status == 200, report
    assert (report["slack"], report["twilio"], report["held"], report["dead"]) == (
        "ok",
        "ok",
        {},
        {},
    )


@pytest.mark.settings(METRICS_TOKEN=METRICS_TOKEN)
async def test_deep_health_and_metrics_report_held_jobs_while_slack_refuses_the_token(
    harness: Harness,
) -> None:
    harness.slack.token_error = "token_revoked"
    await harness.caller_text("anyone?")  # its card is held, the text parked behind it
    await wait_until(harness.services.holds.counts, message="nothing was held")

    live = await harness.client.get("/healthz")
    deep = await harness.client.get("/healthz?deep=1")
    report = await deep.json()
    metrics = await (await harness.client.get("/metrics", headers=BEARER)).text()

    assert live.status == 200  # liveness: Redis answers, the process is fine
    assert deep.status == 503
    assert report["slack"] == "token_revoked"
    assert report["held"] == {"slack.post": 1}
    assert [(r["scope"], r["in_words"]) for r in report["slack_refusing"]] == [
        ("token", "token revoked")
    ]
    assert "slack: token_revoked" in report["problems"]
    assert 'textback_outbox_held{kind="slack.post"} 1.0' in metrics


@pytest.mark.settings(METRICS_TOKEN=METRICS_TOKEN, RUN_WORKER=False)
async def test_a_buried_job_fails_the_deep_check_is_listed_masked_and_retried(
    harness: Harness,
) -> None:
    outbox = harness.services.outbox
    await outbox.ensure_groups()
    job = Job("reply:C0LEADS:1700000000.000100", sms_to(CALLER, "We can come at 3"))
    await outbox.enqueue([job])
    (taken,) = await outbox.read("sms", "gone", count=1, block_ms=50)
    await outbox.bury(
        taken, f"gave up after 12 attempts: twilio said {CALLER} is busy", harness.clock()
    )

    deep = await harness.client.get("/healthz?deep=1")
    metrics = await (await harness.client.get("/metrics", headers=BEARER)).text()
    listed = await run_cli(harness, "outbox", "dead")

    assert deep.status == 503
    assert (await deep.json())["dead_last_day"] == 1
    assert 'textback_outbox_dead{kind="sms.send"} 1.0' in metrics
    assert "1 buried job (sms.send 1)" in listed
    assert "reply:C0LEADS:1700000000.000100" in listed
    assert "to=+12…23" in listed and "twilio said +12…23 is busy" in listed
    assert CALLER not in listed

    retried = await run_cli(harness, "outbox", "dead", "--retry")
    assert "requeued" in retried
    assert await outbox.dead() == []
    worker = Worker(harness.services)
    task = asyncio.create_task(worker.run())
    try:
        await wait_until(lambda: harness.twilio.messages_to(CALLER), message="not sent")
    finally:
        await worker.shutdown(task)
    assert harness.twilio.messages_to(CALLER)[0]["Body"] == "We can come at 3"


def sms_to(phone: str, body: str) -> SendSms:
    return SendSms(
        to=phone,
        from_="+12125550100",
        body=body,
        purpose="crew reply",
        line="default",
        report_to=SlackThread("C0LEADS", "1700000000.000100"),
    )


async def run_cli(harness: Harness, *args: str) -> str:
    s = harness.settings
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PUBLIC_URL": s.public_url,
        "REDIS_URL": s.redis_url or "",
        "REDIS_KEY_PREFIX": s.redis_key_prefix,
        "SLACK_BOT_TOKEN": "xoxb-cli",
        "SLACK_SIGNING_SECRET": "x",
        "SLACK_CHANNEL_ID": "C0LEADS",
        "TWILIO_ACCOUNT_SID": "ACcli",
        "TWILIO_AUTH_TOKEN": "x",
        "BUSINESS_NAME": "Johnson Electric",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    return out.decode() + err.decode()
