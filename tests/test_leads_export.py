"""`python -m bot leads export`: one row per lead with what happened to it, safe to open in a
spreadsheet, and a clear error for a bad date or line."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CALLER, CHANNEL, CREW_USER, Harness
from tests.lead_helpers import click, open_lead
from tests.test_intake import intake_path, open_form, submit
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
OTHER = "+12125550142"


async def run_export(harness: Harness, *args: str) -> tuple[int, str, str]:
    s = harness.settings
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PUBLIC_URL": s.public_url,
        "REDIS_URL": s.redis_url or "",
        "REDIS_KEY_PREFIX": s.redis_key_prefix,
        "SLACK_BOT_TOKEN": harness.slack.token,
        "SLACK_API_URL": harness.slack.url,
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
        "leads",
        "export",
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_export_writes_a_row_per_lead_with_what_happened_to_it(harness: Harness) -> None:
    harness.slack.add_user(CREW_USER, "Ann Crew", name="ann")
    card = await open_lead(harness)
    await harness.caller_text("Can you come Tuesday?")
    await harness.crew_reply(card, "Tuesday 9am works")
    await wait_until(lambda: len(harness.twilio.messages_to(CALLER)) == 2, message="no answer")
    await click(harness, card, "lead_claim")
    await click(harness, card, "lead_book")
    await harness.caller_text("Hi, do you do panels?", caller=OTHER)  # a lead begun by text
    await harness.drained()

    code, out, err = await run_export(harness)

    assert code == 0, err
    rows = {row["caller"]: row for row in csv.DictReader(io.StringIO(out))}
    assert set(rows) == {CALLER, OTHER}
    called = rows[CALLER]
    assert called["line"] == "default" and called["line_name"] == "Johnson Electric"
    assert called["auto_text"] == "sent" and called["texted_at"].endswith("Z")
    assert called["called_at"] <= called["texted_at"] <= called["first_reply_at"]
    assert called["first_reply_at"] <= called["first_answer_at"]
    assert (called["first_answer_by"], called["first_answer_by_id"]) == ("ann", CREW_USER)
    assert (called["claimed_by"], called["state"]) == ("ann", "booked")
    assert called["booked_at"] and not called["closed_at"]
    assert (called["texts_from_caller"], called["texts_to_caller"]) == ("1", "2")
    assert called["slack_permalink"] == (
        f"https://textback-test.slack.com/archives/{CHANNEL}/p{card.replace('.', '')}"
    )
    texted = rows[OTHER]
    assert (texted["called_at"], texted["auto_text"], texted["texts_from_caller"]) == ("", "", "1")
    assert "leads export: done, 2 leads" in err


async def test_export_json_since_line_and_output_file(harness: Harness, tmp_path: Path) -> None:
    await harness.caller_text("an old lead", caller=OTHER)
    await harness.drained()
    harness.clock.advance(3 * 86_400)
    await harness.caller_text("a new lead")
    await harness.drained()
    since = time.strftime("%Y-%m-%d", time.gmtime(harness.clock() - 86_400))
    target = tmp_path / "leads.json"

    code, out, err = await run_export(
        harness, "--format", "json", "--since", since, "--line", "default", "--output", str(target)
    )

    assert code == 0, err
    assert out == ""
    rows = json.loads(target.read_text())
    assert [(r["caller"], r["texts_from_caller"]) for r in rows] == [(CALLER, 1)]


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (("--since", "last week"), "--since 'last week': use a date like 2026-11-01"),
        (("--line", "north"), "--line 'north': no such line (this deployment has default)"),
        (("--format", "xlsx"), "invalid choice: 'xlsx'"),
    ],
)
async def test_export_refuses_a_bad_date_or_line_clearly(
    harness: Harness, args: tuple[str, ...], complaint: str
) -> None:
    code, out, err = await run_export(harness, *args)
    assert code == 2
    assert out == ""
    assert complaint in err


async def test_export_csv_never_hands_a_spreadsheet_a_formula(harness: Harness) -> None:
    path = await intake_path(harness)
    form = await open_form(harness, path)
    await submit(harness, path, form, need="Outlet", name='=HYPERLINK("http://x.test","fix")')
    await harness.drained()

    code, out, err = await run_export(harness)

    assert code == 0, err
    (row,) = csv.DictReader(io.StringIO(out))
    assert row["caller_name"] == '\'=HYPERLINK("http://x.test","fix")'
    assert row["caller"] == CALLER  # an E.164 number starts with + and stays as it is
    _, json_out, _ = await run_export(harness, "--format", "json")
    assert json.loads(json_out)[0]["caller_name"] == '=HYPERLINK("http://x.test","fix")'
