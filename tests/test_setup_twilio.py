"""`python -m bot setup twilio [--apply] [--messaging-service]` against the Twilio simulator:
a dry run changes nothing, --apply changes what differs and a second run nothing, and a TwiML
App or a Messaging Service is never changed on its own."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot import local_redis
from bot.doctor import command
from bot.settings import Settings
from tests.conftest import BUSINESS_NUMBER, make_settings
from tests.standins import SlackStandIn, TwilioStandIn

BASE = "https://textback.example.test"
OTHER_NUMBER = "+12125550101"
DEMO_VOICE = "https://demo.twilio.com/welcome/voice/"
WANTED = {
    "voice_url": f"{BASE}/twilio/voice",
    "voice_method": "POST",
    "sms_url": f"{BASE}/twilio/sms",
    "sms_method": "POST",
    "status_callback": f"{BASE}/twilio/voice/status",
    "status_callback_method": "POST",
}


@pytest.fixture
def settings(clean_env: None, slack: SlackStandIn, twilio: TwilioStandIn) -> Settings:
    return make_settings(
        "redis://127.0.0.1:1/0",  # setup twilio never touches Redis
        "tbsetup",
        slack,
        twilio,
        public_url=BASE,
        twilio_numbers=BUSINESS_NUMBER,
    )


async def setup(settings: Settings, *flags: str) -> tuple[int, str]:
    out = io.StringIO()
    code = await command.setup_twilio(
        settings,
        apply="--apply" in flags,
        messaging_service="--messaging-service" in flags,
        out=out,
    )
    return code, out.getvalue()


def configured(twilio: TwilioStandIn, number: str = BUSINESS_NUMBER) -> dict[str, Any]:
    found = twilio.numbers.numbers[number]
    return {name: getattr(found, name) for name in WANTED}


def fresh_number(twilio: TwilioStandIn, **settings: Any) -> None:
    """As Twilio sells it: the demo URLs, no status callback."""
    twilio.numbers.add(
        BUSINESS_NUMBER,
        **{"voice_url": DEMO_VOICE, "sms_url": "", "voice_method": "GET", **settings},
    )


async def test_a_dry_run_shows_current_and_wanted_and_changes_nothing(
    settings: Settings, twilio: TwilioStandIn
) -> None:
    fresh_number(twilio)
    before = configured(twilio)
    code, shown = await setup(settings)

    assert configured(twilio) == before and twilio.numbers.updates == []
    assert code == 1  # something to change
    assert f"VoiceUrl              {DEMO_VOICE} → {BASE}/twilio/voice" in shown
    assert "VoiceMethod           GET → POST" in shown
    assert f"SmsUrl                (none) → {BASE}/twilio/sms" in shown
    assert "SmsMethod             POST (already)" in shown
    assert f"StatusCallback        (none) → {BASE}/twilio/voice/status" in shown
    assert "StatusCallbackMethod  POST (already)" in shown
    assert "Nothing changed: 4 change(s) to make. Run again with --apply." in shown


async def test_apply_changes_what_differs_and_a_second_run_changes_nothing(
    settings: Settings, twilio: TwilioStandIn
) -> None:
    fresh_number(twilio)
    first_code, first = await setup(settings, "--apply")
    updates_after_first = list(twilio.numbers.updates)
    second_code, second = await setup(settings, "--apply")

    assert configured(twilio) == WANTED
    [(sid, form)] = updates_after_first
    assert sid == twilio.numbers.numbers[BUSINESS_NUMBER].sid
    assert sorted(form) == ["SmsUrl", "StatusCallback", "VoiceMethod", "VoiceUrl"]
    assert "✓ changed VoiceUrl, VoiceMethod, SmsUrl, StatusCallback" in first
    assert (first_code, second_code) == (0, 0)
    assert twilio.numbers.updates == updates_after_first  # nothing sent the second time
    assert "nothing to change" in second and "Nothing to change." in second


async def test_a_url_with_connection_overrides_is_left_as_it_is(
    settings: Settings, twilio: TwilioStandIn
) -> None:
    twilio.numbers.add(BUSINESS_NUMBER, **{**WANTED, "voice_url": f"{BASE}/twilio/voice#rc=3"})
    code, shown = await setup(settings, "--apply")
    assert (code, twilio.numbers.updates) == (0, [])
    assert f"VoiceUrl              {BASE}/twilio/voice#rc=3 (already)" in shown


async def test_a_twiml_app_is_named_and_left_alone(
    settings: Settings, twilio: TwilioStandIn
) -> None:
    fresh_number(twilio, voice_application_sid="AP0123")
    code, shown = await setup(settings, "--apply")

    assert twilio.numbers.numbers[BUSINESS_NUMBER].voice_application_sid == "AP0123"
    assert configured(twilio) == WANTED  # ready for when the app is taken off
    assert "! calls go to TwiML App AP0123, whatever VoiceUrl says" in shown
    assert 'configure with "Webhook"' in shown
    assert code == 1


async def test_a_messaging_service_is_shown_with_its_numbers_and_changed_only_when_asked(
    settings: Settings, twilio: TwilioStandIn
) -> None:
    twilio.numbers.add(BUSINESS_NUMBER, **WANTED)
    twilio.numbers.add(OTHER_NUMBER, sms_url="https://crm.example.com/other")
    service = twilio.numbers.add_service(
        "Old CRM",
        numbers=[BUSINESS_NUMBER, OTHER_NUMBER],
        inbound_request_url="https://crm.example.com/sms",
    )
    plain_code, plain = await setup(settings, "--apply")
    dry_code, dry = await setup(settings, "--messaging-service")
    untouched = service.use_inbound_webhook_on_number
    code, applied = await setup(settings, "--messaging-service", "--apply")
    again_code, again = await setup(settings, "--apply")

    assert not untouched and service.use_inbound_webhook_on_number
    assert f'! texts: Messaging Service "Old CRM" ({service.sid}) takes them' in plain
    assert "sends them to https://crm.example.com/sms" in plain
    assert f"{OTHER_NUMBER} (its own SmsUrl: https://crm.example.com/other)" in plain
    assert "setup leaves Messaging Services alone" in plain
    assert "--apply would set" in dry
    assert "now defers to each number's webhook" in applied
    assert (plain_code, dry_code, code, again_code) == (1, 1, 0, 0)
    assert "Messaging Service" not in again
    assert [sid for sid, _ in twilio.numbers.updates] == [service.sid]


async def test_a_number_not_in_the_account_fails_and_changes_nothing(
    settings: Settings, twilio: TwilioStandIn
) -> None:
    code, shown = await setup(settings, "--apply")
    assert (code, twilio.numbers.updates) == (1, [])
    assert "✗ not a number of account" in shown


async def test_without_numbers_named_it_lists_the_accounts_and_changes_nothing(
    settings: Settings, twilio: TwilioStandIn
) -> None:
    twilio.numbers.add(BUSINESS_NUMBER, **WANTED)
    twilio.numbers.add(OTHER_NUMBER, voice_url=DEMO_VOICE)
    code, shown = await setup(settings.model_copy(update={"twilio_numbers": []}), "--apply")

    assert (code, twilio.numbers.updates) == (1, [])
    assert f"· {BUSINESS_NUMBER}: calls and texts come here" in shown
    assert f"· {OTHER_NUMBER}: calls: calls go to {DEMO_VOICE}" in shown
    assert "setup twilio changes only the numbers you name" in shown


async def test_refused_credentials_change_nothing(
    settings: Settings, twilio: TwilioStandIn
) -> None:
    fresh_number(twilio)
    twilio.auth_token = "rotated-elsewhere"
    code, shown = await setup(settings, "--apply")
    assert (code, twilio.numbers.updates) == (1, [])
    assert "Twilio refuses the credentials (401)" in shown


async def test_the_command_applies_through_the_cli(
    settings: Settings, slack: SlackStandIn, twilio: TwilioStandIn, tmp_path: Path
) -> None:
    fresh_number(twilio)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PUBLIC_URL": BASE,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_CHANNEL_ID": "C0LEADS",
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_API_URL": twilio.url,
        "BUSINESS_NAME": "Johnson Electric",
        "TWILIO_NUMBERS": BUSINESS_NUMBER,
    }
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "setup", "twilio", "--apply"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert configured(twilio) == WANTED
    assert "Done: 4 change(s) made." in result.stdout


async def test_twilio_out_of_reach_is_said_in_a_line(settings: Settings) -> None:
    nowhere = f"http://127.0.0.1:{local_redis.free_port()}"
    code, shown = await setup(settings.model_copy(update={"twilio_api_url": nowhere}), "--apply")
    assert code == 1
    assert shown.startswith(f"✗ can't reach Twilio at {nowhere} (")
