"""/healthz, /metrics and /textback status tell an operator what state the service is in."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import local_redis
from bot.app import create_app
from tests.conftest import CALLER, Clock, Harness, make_settings, new_sid, slash_command
from tests.signing import twilio_signature
from tests.standins import SlackStandIn, TwilioStandIn

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
