"""INTAKE_LINK: what link the first text carries (our intake page, INTAKE_URL, or none), per line
too, and what `/textback template show` says about it and about {first_name}."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from redis.asyncio import Redis

from bot.domain import template_guard, templates
from bot.lines import LinesError, load
from bot.settings import Settings
from tests.conftest import CALLER, Clock, Harness, slash_command, start_harness
from tests.standins import SlackStandIn, TwilioStandIn
from tests.test_lines import CALLER as LINES_CALLER
from tests.test_lines import DOWNTOWN, LINES, UPTOWN, call, settings_with, texts_from

BOOKING = "https://johnson.example.test/book"


async def first_text(harness: Harness) -> str:
    assert (await harness.missed_call()).status == 200
    await harness.drained()
    (sent,) = harness.twilio.messages_to(CALLER)
    return str(sent["Body"])


async def links_made(harness: Harness) -> int:
    pattern = f"{harness.settings.redis_key_prefix}:intake:*"
    return len([key async for key in harness.services.redis.scan_iter(match=pattern)])


@pytest.mark.settings(INTAKE_LINK="off")
async def test_off_sends_the_default_text_without_any_link(harness: Harness) -> None:
    body = await first_text(harness)

    assert body == templates.DEFAULTS["business"].format(business="Johnson Electric", or_link="")
    assert "http" not in body
    assert await links_made(harness) == 0


@pytest.mark.settings(INTAKE_LINK="off", INTAKE_URL=BOOKING)
async def test_off_wins_over_an_intake_url(harness: Harness) -> None:
    assert "http" not in await first_text(harness)


@pytest.mark.settings(INTAKE_LINK="page", INTAKE_URL=BOOKING)
async def test_page_links_our_intake_page_even_with_an_intake_url(harness: Harness) -> None:
    body = await first_text(harness)

    assert f"{harness.settings.public_url}/i/" in body
    assert BOOKING not in body
    assert await links_made(harness) == 1


@pytest.mark.settings(INTAKE_URL=BOOKING)
async def test_unset_with_an_intake_url_means_url(harness: Harness) -> None:
    body = await first_text(harness)

    assert BOOKING in body
    assert await links_made(harness) == 0


async def test_unset_without_an_intake_url_means_our_page_as_before(harness: Harness) -> None:
    assert f"{harness.settings.public_url}/i/" in await first_text(harness)


def test_url_without_an_intake_url_stops_start(clean_env: None) -> None:
    values: dict[str, Any] = {
        "public_url": "https://tb.example.test",
        "slack_bot_token": "xoxb-x",
        "slack_signing_secret": "s",
        "slack_channel_id": "C0LEADS",
        "business_name": "Johnson Electric",
        "twilio_account_sid": "AC" + "0" * 32,
        "twilio_auth_token": "t",
        "intake_link": "url",
    }
    with pytest.raises(ValidationError, match="needs INTAKE_URL"):
        Settings(_env_file=None, **values)


LINES_WITH_LINKS = LINES.replace(
    'timezone = "America/Chicago"', 'timezone = "America/Chicago"\nintake_link = "off"'
).replace("forward_to = []", f'forward_to = []\nintake_url = "{BOOKING}"')


@pytest.fixture
async def linked(
    clean_env: None,
    redis: Redis,
    redis_url: str,
    key_prefix: str,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    clock: Clock,
    tmp_path: Path,
) -> AsyncIterator[Harness]:
    """Two lines: uptown with intake_link = "off", downtown with its own intake_url."""
    path = tmp_path / "lines.toml"
    path.write_text(LINES_WITH_LINKS)
    h = await start_harness(redis_url, key_prefix, slack, twilio, clock, lines_file=str(path))
    yield h
    await h.client.close()


async def test_each_line_sends_the_link_its_intake_link_says(linked: Harness) -> None:
    await call(linked, UPTOWN)
    await call(linked, DOWNTOWN)
    await linked.drained()

    (uptown,) = texts_from(linked, UPTOWN, LINES_CALLER)
    (downtown,) = texts_from(linked, DOWNTOWN, LINES_CALLER)
    assert "http" not in uptown
    assert uptown.startswith("Hi, this is Acme Electric Uptown.")
    assert BOOKING in downtown


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ('intake_link = "sometimes"', 'intake_link must be "page", "url" or "off"'),
        ('intake_link = "url"', 'intake_link "url" needs an intake_url'),
    ],
)
def test_a_bad_intake_link_in_the_lines_file_is_refused(
    clean_env: None, tmp_path: Path, entry: str, problem: str
) -> None:
    text = LINES.replace('timezone = "America/Chicago"', f'timezone = "America/Chicago"\n{entry}')
    with pytest.raises(LinesError, match=problem):
        load(settings_with(tmp_path, text))


def test_the_guard_refuses_link_when_there_is_none_and_takes_or_link() -> None:
    values = template_guard.worst_case("Johnson Electric", None)

    refused = template_guard.check(
        "{business}: tell us what you need at {link}. Reply STOP to opt out.", values
    )
    taken = template_guard.check(
        "{business}: reply with what you need{or_link}. Reply STOP to opt out.", values
    )

    assert any("no link to put in {link}" in reason for reason in refused.reasons)
    assert taken.ok
    assert taken.preview is not None and "http" not in taken.preview.text


@pytest.mark.settings(INTAKE_LINK="off")
async def test_template_show_previews_the_unlinked_texts_and_says_first_name_needs_cnam(
    harness: Harness,
) -> None:
    shown = await (await slash_command(harness, "template show")).text()

    assert "What can we help with? Reply here. Reply STOP" in shown
    assert "http" not in shown
    assert "no link: INTAKE_LINK is off" in shown
    assert "caller-name lookup (CNAM, paid)" in shown
    assert '"there"' in shown
