"""Settings: clear errors naming every missing or invalid one, secrets never echoed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.settings import Settings, SettingsError, load_settings

REQUIRED = {
    "public_url": "https://tb.example.test",
    "slack_bot_token": "xoxb-secret-token-value",
    "slack_signing_secret": "s3cret",
    "slack_channel_id": "C0LEADS",
    "twilio_account_sid": "AC" + "0" * 32,
    "twilio_auth_token": "tw-secret-token-value",
    "business_name": "Johnson Electric",
}


def build(**values: object) -> Settings:
    return load_settings(_env_file=None, **values)


def test_defaults_match_the_contract(clean_env: None) -> None:
    settings = build(**REQUIRED)
    assert settings.port == 3000
    assert settings.host == "0.0.0.0"
    assert settings.ring_seconds == 18
    assert settings.textback_window_hours == 24
    assert settings.lead_thread_days == 14
    assert settings.business_timezone == "America/New_York"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.twilio_api_url == "https://api.twilio.com"
    assert settings.screen_calls is True


def test_missing_settings_are_all_named_with_where_to_get_them(clean_env: None) -> None:
    with pytest.raises(SettingsError) as error:
        build()
    message = str(error.value)
    for name in (
        "PUBLIC_URL",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_CHANNEL_ID",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "BUSINESS_NAME",
    ):
        assert name in message
    assert "Signing Secret" in message


def test_invalid_values_are_named_and_secrets_not_echoed(clean_env: None) -> None:
    with pytest.raises(SettingsError) as error:
        build(
            **{
                **REQUIRED,
                "business_timezone": "Mars/Olympus",
                "forward_to": "12345",
                "business_hours": "Mon-Fry 8-5",
                "public_url": "tb.example.test",
            }
        )
    message = str(error.value)
    assert "BUSINESS_TIMEZONE" in message
    assert "FORWARD_TO" in message
    assert "BUSINESS_HOURS" in message
    assert "PUBLIC_URL" in message
    assert "tw-secret-token-value" not in message


def test_redis_url_names_a_cluster_by_its_scheme(clean_env: None) -> None:
    assert build(**REQUIRED, redis_url="redis+cluster://10.0.0.5:6379").redis_url
    with pytest.raises(SettingsError) as error:
        build(**REQUIRED, redis_url="cluster://:hunter2secret@10.0.0.5:6379")
    assert "REDIS_URL" in str(error.value)
    assert "hunter2secret" not in str(error.value)


def test_forward_to_accepts_common_formats(clean_env: None) -> None:
    settings = build(**REQUIRED, forward_to="(202) 555-0188, +1 212 555 0199")
    assert settings.forward_to == ["+12025550188", "+12125550199"]


def test_twilio_numbers_are_read_like_forward_to_and_may_not_be_rung(clean_env: None) -> None:
    settings = build(**REQUIRED, twilio_numbers="(212) 555-0100,+1 212 555 0101")
    assert settings.twilio_numbers == ["+12125550100", "+12125550101"]
    with pytest.raises(SettingsError) as error:
        build(**REQUIRED, twilio_numbers="+12125550100", forward_to="(212) 555-0100")
    assert "FORWARD_TO is invalid" in str(error.value)
    assert "+12125550100 is also in TWILIO_NUMBERS (a call would loop)" in str(error.value)


def test_settings_come_from_the_environment(
    clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name.upper(), value)
    monkeypatch.setenv("RING_SECONDS", "15")
    monkeypatch.setenv("FORWARD_TO", "+12025550188")
    settings = build()
    assert settings.ring_seconds == 15
    assert settings.forward_to == ["+12025550188"]


def test_serve_without_settings_exits_with_the_list(tmp_path: object) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(tmp_path),
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN is missing" in result.stderr
    assert "TWILIO_AUTH_TOKEN is missing" in result.stderr


def test_trusted_proxies_take_addresses_and_networks_and_name_a_bad_one(clean_env: None) -> None:
    settings = build(**REQUIRED, trusted_proxies="10.0.0.0/8, 192.0.2.7,::1")
    assert settings.trusted_proxies == ["10.0.0.0/8", "192.0.2.7", "::1"]
    with pytest.raises(SettingsError) as refused:
        build(**REQUIRED, trusted_proxies="10.0.0.0/8, the-load-balancer")
    assert "TRUSTED_PROXIES is invalid" in str(refused.value)
    assert "'the-load-balancer' is not an IP address or network" in str(refused.value)
