"""The load table's header names every setting the run passes that a plain deployment lacks."""

from __future__ import annotations

import pytest

from bot.settings import Settings
from tests.load.__main__ import config_from, parser
from tests.load.changes import changed_settings, parse_overrides, run_env
from tests.load.procs import app_env
from tests.standins import SlackStandIn, TwilioStandIn

# What the stand-ins need, what a process must be told (where to listen, how loud to log), and
# the Slack stand-in's raised per-channel limit: nothing that changes how the product works.
STAND_IN_SETTINGS = {
    "HOST",
    "PORT",
    "LOG_LEVEL",
    "PUBLIC_URL",
    "REDIS_URL",
    "REDIS_KEY_PREFIX",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_CHANNEL_ID",
    "SLACK_API_URL",
    "SLACK_POSTS_PER_SECOND",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_API_URL",
    "BUSINESS_NAME",
    "BUSINESS_HOURS",
}


async def env_of_run(
    slack: SlackStandIn, twilio: TwilioStandIn, workers: str, overrides: dict[str, str]
) -> dict[str, str]:
    stand_ins = app_env(
        public_url="https://textback.load.test",
        redis_url="redis://127.0.0.1:6379/12",
        prefix="tbload-test",
        slack=slack,
        twilio=twilio,
        signing_secret="load-signing-secret",
        channel="C0LOAD",
    )
    return run_env(
        {**stand_ins, "PORT": "8123"},
        workers=workers,
        slack_posts_per_second=300,
        overrides=overrides,
    )


async def test_a_default_run_changes_only_what_the_stand_ins_need(
    slack: SlackStandIn, twilio: TwilioStandIn
) -> None:
    changed = changed_settings(await env_of_run(slack, twilio, "procfile", {}))
    assert set(changed) == STAND_IN_SETTINGS
    assert changed["SLACK_POSTS_PER_SECOND"] == "300"
    assert changed["TWILIO_AUTH_TOKEN"] == "(set)"  # secrets never printed


async def test_a_set_setting_shows_in_the_header(
    slack: SlackStandIn, twilio: TwilioStandIn
) -> None:
    env = await env_of_run(slack, twilio, "procfile", {"WORKER_CONCURRENCY": "64"})
    assert changed_settings(env)["WORKER_CONCURRENCY"] == "64"


async def test_a_set_setting_equal_to_its_default_is_no_change(
    slack: SlackStandIn, twilio: TwilioStandIn
) -> None:
    default = str(Settings.model_fields["worker_concurrency"].default)
    env = await env_of_run(slack, twilio, "procfile", {"WORKER_CONCURRENCY": default})
    assert "WORKER_CONCURRENCY" not in changed_settings(env)


async def test_workers_apart_from_serve_show_as_run_worker_off(
    slack: SlackStandIn, twilio: TwilioStandIn
) -> None:
    for workers in ("split", "one"):
        changed = changed_settings(await env_of_run(slack, twilio, workers, {}))
        assert changed["RUN_WORKER"] == "false"
    for workers in ("procfile", "inline"):
        assert "RUN_WORKER" not in changed_settings(await env_of_run(slack, twilio, workers, {}))


def test_set_refuses_a_setting_that_does_not_exist() -> None:
    with pytest.raises(ValueError, match="no such setting"):
        parse_overrides(["WORKER_CONCURENCY=64"])
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parse_overrides(["WORKER_CONCURRENCY"])
    assert parse_overrides(["worker_concurrency=64"]) == {"WORKER_CONCURRENCY": "64"}


def test_deprecated_concurrency_is_a_set_with_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    arguments = parser()
    config = config_from(arguments.parse_args(["--concurrency", "64"]), arguments)
    assert config.settings == {"WORKER_CONCURRENCY": "64"}
    assert "--set WORKER_CONCURRENCY=64" in capsys.readouterr().err


def test_deprecated_latency_sets_each_stand_in_with_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    arguments = parser()
    config = config_from(arguments.parse_args(["--latency", "0.5"]), arguments)
    assert (config.twilio_ms, config.slack_ms, config.webhook_ms) == (500, 500, 500)
    assert "deprecated" in capsys.readouterr().err


def test_defaults_are_the_procfile_on_product_settings() -> None:
    arguments = parser()
    config = config_from(arguments.parse_args(["--twilio-ms", "500"]), arguments)
    assert config.workers == "procfile"
    assert config.settings == {}
    assert (config.twilio_ms, config.slack_ms) == (500, 150)  # each stand-in its own latency
