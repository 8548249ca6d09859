"""Several numbers and locations on one deployment: each line its own channel, name, texts and
stats; an opt-out or an exclusion holds on every line; a bad LINES_FILE stops start-up."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from redis.asyncio import Redis

from bot.domain.line import DEFAULT_LINE
from bot.flows import reports
from bot.lines import LinesError, load
from bot.settings import Settings
from tests.conftest import (
    BUSINESS_NUMBER,
    CHANNEL,
    CREW_USER,
    SIGNING_SECRET,
    Clock,
    Harness,
    new_sid,
    start_harness,
)
from tests.signing import slack_headers
from tests.standins import SlackStandIn, TwilioStandIn
from tests.waiting import wait_until

UPTOWN = "+12025550199"
UPTOWN_TRUCKS = "+12025550198"
DOWNTOWN = "+12125550177"
UNLISTED = "+12125550166"
CALLER = "+12025550131"
UPTOWN_CHANNEL, DOWNTOWN_CHANNEL = "C0UPTOWN01", "C0DOWNTOWN"

LINES = f"""
[[line]]
id = "uptown"
numbers = ["{UPTOWN}", "(202) 555-0198"]
name = "Acme Electric Uptown"
channel = "{UPTOWN_CHANNEL}"
timezone = "America/Chicago"

[[line]]
id = "downtown"
numbers = ["{DOWNTOWN}"]
name = "Acme Electric Downtown"
channel = "{DOWNTOWN_CHANNEL}"
forward_to = []
"""


def lines_file(tmp_path: Path, text: str = LINES) -> str:
    path = tmp_path / "lines.toml"
    path.write_text(text)
    return str(path)


@pytest.fixture
async def lines(
    clean_env: None,
    redis: Redis,
    redis_url: str,
    key_prefix: str,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    clock: Clock,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Harness]:
    """Two lines from a file, plus the environment's line (Johnson Electric, C0LEADS) as the
    catch-all; @pytest.mark.settings(...) overrides, e.g. no catch-all."""
    marker = request.node.get_closest_marker("settings")
    overrides = {k.lower(): v for k, v in (marker.kwargs if marker else {}).items()}
    overrides.setdefault("lines_file", lines_file(tmp_path))
    overrides.setdefault("admin_user_ids", CREW_USER)
    h = await start_harness(redis_url, key_prefix, slack, twilio, clock, **overrides)
    yield h
    await h.client.close()


async def call(h: Harness, to: str, caller: str = CALLER, **extra: str) -> Any:
    params = {"CallSid": new_sid("CA"), "From": caller, "To": to, "Direction": "inbound"}
    return await h.twilio_post(
        "/twilio/voice/dial-status", {**params, "DialCallStatus": "no-answer", **extra}
    )


async def text(h: Harness, to: str, body: str, caller: str = CALLER) -> Any:
    params = {"MessageSid": new_sid("SM"), "From": caller, "To": to, "Body": body, "NumMedia": "0"}
    return await h.twilio_post("/twilio/sms", params)


async def command(h: Harness, words: str, channel: str) -> str:
    body = urlencode(
        {
            "command": "/textback",
            "text": words,
            "user_id": CREW_USER,
            "channel_id": channel,
            "team_id": "T0TEAM",
            "response_url": "https://hooks.slack.invalid/x",
            "trigger_id": "1.2",
        }
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        **slack_headers(SIGNING_SECRET, body),
    }
    response = await h.client.post("/slack/events", data=body, headers=headers)
    assert response.status == 200
    return str(await response.text())  # plain text in the ack: ephemeral


def cards_in(h: Harness, channel: str) -> list[dict[str, Any]]:
    return [p for p in h.slack.posts if p["channel"] == channel and not p.get("thread_ts")]


def card_in(h: Harness, channel: str) -> str:
    """ts of the lead card in this channel."""
    found = [
        ts for (c, ts), m in h.slack.messages.items() if c == channel and not m.get("thread_ts")
    ]
    assert len(found) == 1, found
    return found[0]


def texts_from(h: Harness, number: str, to: str = CALLER) -> list[str]:
    return [m["Body"] for m in h.twilio.messages_to(to) if m["From"] == number]


async def crew_reply(h: Harness, channel: str, thread_ts: str, words: str) -> None:
    event = {
        "type": "message",
        "channel": channel,
        "user": CREW_USER,
        "text": words,
        "ts": f"{time.time():.6f}",
        "thread_ts": thread_ts,
    }
    assert (await h.slack_event(event)).status == 200


# --- routing ------------------------------------------------------------------------------------


async def test_two_lines_and_the_catch_all_each_text_and_post_as_themselves(lines: Harness) -> None:
    callers = {UPTOWN: "+12025550132", DOWNTOWN: "+12025550133", UNLISTED: "+12025550134"}
    for number, caller in callers.items():
        assert (await call(lines, number, caller)).status == 200
    await lines.drained()

    uptown = texts_from(lines, UPTOWN, callers[UPTOWN])
    downtown = texts_from(lines, DOWNTOWN, callers[DOWNTOWN])
    catch_all = texts_from(lines, UNLISTED, callers[UNLISTED])
    assert len(uptown) == len(downtown) == len(catch_all) == 1
    assert "Acme Electric Uptown" in uptown[0]
    assert "Acme Electric Downtown" in downtown[0]
    assert "Johnson Electric" in catch_all[0]
    assert [len(cards_in(lines, c)) for c in (UPTOWN_CHANNEL, DOWNTOWN_CHANNEL, CHANNEL)] == [
        1,
        1,
        1,
    ]
    assert "(202) 555-0132" in cards_in(lines, UPTOWN_CHANNEL)[0]["text"]


async def test_a_caller_who_calls_both_lines_gets_a_text_from_each_and_a_card_in_each(
    lines: Harness,
) -> None:
    await call(lines, UPTOWN)
    await call(lines, DOWNTOWN)
    await call(lines, UPTOWN)  # again within the window: no second text from uptown
    await lines.drained()
    assert len(texts_from(lines, UPTOWN)) == 1
    assert len(texts_from(lines, DOWNTOWN)) == 1
    assert len(cards_in(lines, UPTOWN_CHANNEL)) == len(cards_in(lines, DOWNTOWN_CHANNEL)) == 1
    uptown_card = card_in(lines, UPTOWN_CHANNEL)
    assert any("Called again" in p["text"] for p in lines.slack.replies(uptown_card))


async def test_a_thread_reply_goes_out_from_the_number_the_caller_last_used_on_that_line(
    lines: Harness,
) -> None:
    await call(lines, UPTOWN)
    await lines.drained()
    await text(lines, UPTOWN_TRUCKS, "Saw your truck, can you come today?")
    await lines.drained()
    card = card_in(lines, UPTOWN_CHANNEL)
    await crew_reply(lines, UPTOWN_CHANNEL, card, "Yes, after 3")
    replies = await wait_until(
        lambda: [m for m in lines.twilio.messages_to(CALLER) if m["Body"] == "Yes, after 3"]
    )
    assert replies[0]["From"] == UPTOWN_TRUCKS


async def test_the_screening_prompt_names_the_line_called(lines: Harness) -> None:
    params = {"CallSid": new_sid("CA"), "From": CALLER, "To": UPTOWN, "Direction": "inbound"}
    answer = await (await lines.twilio_post("/twilio/voice", params)).text()
    assert "line=uptown" in answer
    screen = answer.split('url="')[1].split('"')[0].replace("&amp;", "&")
    path = screen.removeprefix(lines.settings.public_url)
    crew_leg = {"CallSid": new_sid("CA"), "From": UPTOWN, "To": "+12025550142"}
    prompt = await (await lines.twilio_post(path, crew_leg)).text()
    assert "Call for Acme Electric Uptown" in prompt


@pytest.mark.settings(business_name=None, slack_channel_id=None)
async def test_an_unlisted_number_without_a_catch_all_gets_a_goodbye_and_no_text(
    lines: Harness,
) -> None:
    answer = await (await call(lines, UNLISTED)).text()
    assert "can't take your call" in answer
    assert (await text(lines, UNLISTED, "hello?")).status == 200
    await lines.drained()
    assert lines.twilio.messages == []
    assert lines.slack.posts == []
    status = await command(lines, "status", UPTOWN_CHANNEL)
    assert UNLISTED in status and "no line lists" in status


# --- across lines: one business -----------------------------------------------------------------


async def test_stop_on_one_line_holds_texts_and_crew_replies_on_every_line(lines: Harness) -> None:
    await call(lines, DOWNTOWN)
    await lines.drained()
    await text(lines, UPTOWN, "STOP")
    await lines.drained()
    assert await lines.services.callers.is_opted_out(CALLER, "downtown")

    card = card_in(lines, DOWNTOWN_CHANNEL)
    await crew_reply(lines, DOWNTOWN_CHANNEL, card, "Are you still there?")
    notices = await wait_until(
        lambda: [p for p in lines.slack.replies(card) if "opted out" in p["text"]]
    )
    assert "Not sent" in notices[0]["text"]
    await call(lines, "+12125550178")  # the catch-all line: still no text
    await lines.drained()
    assert [m["Body"] for m in lines.twilio.messages_to(CALLER)][1:] == []


async def test_start_lifts_the_opt_out_only_for_the_line_whose_number_got_it(
    lines: Harness,
) -> None:
    await text(lines, UPTOWN, "STOP")
    await text(lines, DOWNTOWN, "START")
    await lines.drained()
    services = lines.services
    assert not await services.callers.is_opted_out(CALLER, "downtown")
    assert await services.callers.is_opted_out(CALLER, "uptown")
    await call(lines, DOWNTOWN)
    await call(lines, UPTOWN)
    await lines.drained()
    assert len(texts_from(lines, DOWNTOWN)) == 1
    assert texts_from(lines, UPTOWN) == []
    ledger = await services.ledger.history(CALLER)
    assert [(e.event, e.detail["line"]) for e in ledger if e.event.startswith("opt")] == [
        ("opt_out", "uptown"),
        ("opt_in", "downtown"),
    ]


async def test_an_exclusion_added_in_one_channel_holds_on_every_line(lines: Harness) -> None:
    answer = await command(lines, f"exclude add {CALLER} supplier", UPTOWN_CHANNEL)
    assert answer.startswith("Excluded")
    await call(lines, DOWNTOWN)
    await lines.drained()
    assert lines.twilio.messages == []
    listed = await command(lines, "exclude list", DOWNTOWN_CHANNEL)
    assert "supplier" in listed and f"<#{UPTOWN_CHANNEL}>" in listed


# --- Slack: a command acts on its channel's line ------------------------------------------------


async def test_a_command_in_a_lines_channel_changes_only_that_line(lines: Harness) -> None:
    saved = await command(
        lines,
        "template set business Hi from {business} uptown! Reply STOP to opt out.",
        UPTOWN_CHANNEL,
    )
    assert saved.startswith("Saved")
    assert (await command(lines, "window 48", DOWNTOWN_CHANNEL)).startswith("Saved")
    uptown = await lines.services.lines.current("uptown")
    downtown = await lines.services.lines.current("downtown")
    assert "business" in uptown.templates and "business" not in downtown.templates
    assert downtown.window_seconds == 48 * 3600 and uptown.window_seconds == 24 * 3600
    await call(lines, UPTOWN)
    await lines.drained()
    assert texts_from(lines, UPTOWN)[0].startswith("Hi from Acme Electric Uptown uptown!")


async def test_a_change_typed_elsewhere_names_the_line_first_or_gets_the_list(
    lines: Harness,
) -> None:
    listing = await command(lines, "pause", "D0DIRECT")
    assert "Which line?" in listing and "`uptown`" in listing and "`downtown`" in listing
    assert not (await lines.services.lines.current("uptown")).paused_at(time.time())
    paused = await command(lines, "downtown pause", "D0DIRECT")
    assert "paused" in paused
    assert (await lines.services.lines.current("downtown")).paused_at(time.time())
    assert not (await lines.services.lines.current("uptown")).paused_at(time.time())


async def test_status_and_stats_typed_elsewhere_cover_every_line(lines: Harness) -> None:
    await call(lines, UPTOWN, "+12025550135")
    await call(lines, DOWNTOWN, "+12025550136")
    await call(lines, DOWNTOWN, "+12025550137")
    await lines.drained()
    status = await command(lines, "status", "D0DIRECT")
    for name in ("Acme Electric Uptown", "Acme Electric Downtown", "Johnson Electric"):
        assert name in status
    assert "Acme Electric Downtown" not in await command(lines, "status", UPTOWN_CHANNEL)

    every = await stats_reply(lines, "D0DIRECT")
    assert every["text"].startswith("Textback · all lines")
    assert (await stats_reply(lines, DOWNTOWN_CHANNEL))["text"].startswith(
        "Textback · Acme Electric Downtown"
    )
    assert await _missed_count(lines, ["uptown", "downtown", DEFAULT_LINE]) == 3
    assert await _missed_count(lines, ["downtown"]) == 2


async def stats_reply(h: Harness, channel: str) -> dict[str, Any]:
    body = urlencode(
        {"command": "/textback", "text": "stats", "user_id": CREW_USER, "channel_id": channel}
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        **slack_headers(SIGNING_SECRET, body),
    }
    reply: dict[str, Any] = await (
        await h.client.post("/slack/events", data=body, headers=headers)
    ).json()
    return reply


async def _missed_count(h: Harness, line_ids: list[str]) -> int:
    return (await reports.summary(h.services, line_ids, 7)).totals["missed"]


# --- start-up -----------------------------------------------------------------------------------


def settings_with(tmp_path: Path, text: str, **values: Any) -> Settings:
    base = {
        "public_url": "https://tb.example.test",
        "slack_bot_token": "xoxb-x",
        "slack_signing_secret": "s",
        "twilio_account_sid": "AC" + "0" * 32,
        "twilio_auth_token": "t",
        "lines_file": lines_file(tmp_path, text),
    }
    return Settings(_env_file=None, **{**base, **values})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[[line]]\nid = "a"\nnumbers = [\n', "TOML syntax error"),
        (LINES + 'colour = "red"\n', "unknown key(s) colour"),
        (
            '[[line]]\nid = "a"\nnumbers = ["+12025550199"]\nname = "A"\n',
            "missing required key(s) channel",
        ),
        (
            '[[line]]\nid = "A b"\nnumbers = ["+12025550199"]\nname = "A"\nchannel = "C1"\n',
            "id must be",
        ),
        (
            '[[line]]\nid = "status"\nnumbers = ["+12025550199"]\nname = "A"\nchannel = "C1"\n',
            "is a /textback subcommand",
        ),
        (
            '[[line]]\nid = "a"\nnumbers = ["+1555"]\nname = "A"\nchannel = "C1"\n',
            '"+1555" is not a valid phone number',
        ),
        (LINES.replace(DOWNTOWN, UPTOWN), f'number {UPTOWN} is also listed by line "uptown"'),
        (LINES.replace('"downtown"', '"uptown"'), 'id "uptown" is already used by [[line]] #1'),
        (LINES.replace(DOWNTOWN_CHANNEL, UPTOWN_CHANNEL), "one line with two numbers"),
        (LINES.replace("America/Chicago", "Mars/Olympus"), 'unknown IANA time zone "Mars/Olympus"'),
        ("", "no [[line]] tables"),
    ],
)
def test_a_bad_lines_file_is_refused_naming_the_entry_and_the_problem(
    clean_env: None, tmp_path: Path, text: str, problem: str
) -> None:
    with pytest.raises(LinesError) as error:
        load(settings_with(tmp_path, text))
    assert problem in str(error.value)
    assert "lines.toml" in str(error.value)


def test_a_line_may_not_take_the_catch_alls_id(clean_env: None, tmp_path: Path) -> None:
    with pytest.raises(LinesError) as error:
        load(
            settings_with(
                tmp_path,
                LINES.replace('"downtown"', '"default"'),
                business_name="Johnson Electric",
                slack_channel_id=CHANNEL,
            )
        )
    assert "the environment's line" in str(error.value)


def test_twilio_numbers_are_the_catch_alls_own_and_no_file_line_may_list_them(
    clean_env: None, tmp_path: Path
) -> None:
    env_line = {"business_name": "Johnson Electric", "slack_channel_id": CHANNEL}
    with_numbers = settings_with(tmp_path, LINES, **env_line, twilio_numbers=UNLISTED)
    file_lines, catch_all = load(with_numbers)
    assert catch_all is not None and catch_all.numbers == (UNLISTED,)
    assert [line.id for line in file_lines] == ["uptown", "downtown"]

    with pytest.raises(LinesError) as listed_twice:
        load(settings_with(tmp_path, LINES, **env_line, twilio_numbers=DOWNTOWN))
    assert f"number {DOWNTOWN} is also listed by TWILIO_NUMBERS" in str(listed_twice.value)
    with pytest.raises(LinesError) as no_env_line:
        load(settings_with(tmp_path, LINES, twilio_numbers=UNLISTED))
    assert "list those numbers in a [[line]]" in str(no_env_line.value)


def test_toml_syntax_errors_give_toml_s_line_number(clean_env: None, tmp_path: Path) -> None:
    with pytest.raises(LinesError) as error:
        load(settings_with(tmp_path, LINES + "\n[[line]\n"))
    assert "line 16" in str(error.value)


@pytest.mark.parametrize("command_line", [["serve"], ["worker"], ["consent", "export"]])
def test_every_command_stops_at_start_on_a_bad_lines_file(
    tmp_path: Path, command_line: list[str]
) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PUBLIC_URL": "https://tb.example.test",
        "SLACK_BOT_TOKEN": "xoxb-x",
        "SLACK_SIGNING_SECRET": "s",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "t",
        "LINES_FILE": lines_file(tmp_path, LINES.replace(DOWNTOWN, "12345")),
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", *command_line],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(tmp_path),
        env=env,
    )
    assert result.returncode == 2
    assert '[[line]] #2 (id "downtown"): numbers[0] "12345" is not a valid phone number' in (
        result.stderr
    )


# --- data from before several lines --------------------------------------------------------------


async def test_a_single_line_deployment_keeps_its_opt_outs_and_exclusions_after_adding_a_file(
    clean_env: None,
    redis: Redis,
    redis_url: str,
    key_prefix: str,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    clock: Clock,
    tmp_path: Path,
) -> None:
    # What the release before several lines left in Redis for the default line.
    opted_out, excluded = "+12025550138", "+12025550139"
    await redis.hset(f"{key_prefix}:{{{opted_out}}}:line:default", "opted_out", "1700000000")
    await redis.hset(f"{key_prefix}:{{{excluded}}}:line:default", "excluded", "supplier")
    await redis.hset(f"{key_prefix}:line:default:excluded", excluded, "supplier")
    h = await start_harness(
        redis_url,
        key_prefix,
        slack,
        twilio,
        clock,
        lines_file=lines_file(tmp_path),
        admin_user_ids=CREW_USER,  # changing the exclusion list is for admins
    )
    try:
        for caller in (opted_out, excluded):
            await call(h, UPTOWN, caller)  # a new line
            await call(h, BUSINESS_NUMBER, caller)  # the catch-all, the old line
        await h.drained()
        assert h.twilio.messages == []
        listed = await command(h, "exclude list", UPTOWN_CHANNEL)
        assert "(202) 555-0139" in listed and "supplier" in listed
        assert "(202) 555-0139" in await command(h, f"exclude remove {excluded}", UPTOWN_CHANNEL)
        await call(h, DOWNTOWN, excluded)
        await h.drained()
        assert len(h.twilio.messages_to(excluded)) == 1
    finally:
        await h.client.close()
