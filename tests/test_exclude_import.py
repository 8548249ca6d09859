"""Bulk exclusions: `python -m bot exclude import` (a CSV or a phone's vCard export) as a real
process against the test's Redis, and several numbers at once in `/textback exclude add`."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from bot.domain import contacts
from bot.domain.contacts import ContactsError
from tests.conftest import CHANNEL, Harness, slash_command
from tests.lead_helpers import open_lead

ROOT = Path(__file__).resolve().parent.parent

CSV = """\
Name,Phone,Notes
Bob's Plumbing Supply,(202) 555-0101,supplier
Mom,202.555.0102,
Joe Crew,+1 202-555-0103,
Bob again,2025550101,
Nobody,555-1234,
No Phone,,

Already There,(212) 555-0142,
"""

VCARD = """\
BEGIN:VCARD
VERSION:3.0
FN:Maria Lopez
N:Lopez;Maria;;;
TEL;TYPE=CELL:(202) 555-0106
TEL;TYPE=WORK,VOICE:+1 212 555 0107
END:VCARD
BEGIN:VCARD
VERSION:2.1
N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Dupont;=C3=89lise;;;
FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=C3=89lise Dupont
TEL;CELL:202-555-0108
END:VCARD
BEGIN:VCARD
VERSION:4.0
FN:Supplier\\, Inc.
TEL;VALUE=uri;TYPE="voice,cell":tel:+1-202-555-0106
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Email Only
EMAIL:someone@example.com
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Tony the Long Na
 me
TEL:12345
END:VCARD
"""


async def run_import(harness: Harness, path: Path) -> tuple[int, str, str]:
    s = harness.settings
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PUBLIC_URL": s.public_url,
        "REDIS_URL": s.redis_url or "",
        "REDIS_KEY_PREFIX": s.redis_key_prefix,
        "SLACK_BOT_TOKEN": "xoxb-import",
        "SLACK_SIGNING_SECRET": "x",
        "SLACK_CHANNEL_ID": CHANNEL,
        "TWILIO_ACCOUNT_SID": "ACimport",
        "TWILIO_AUTH_TOKEN": "x",
        "BUSINESS_NAME": "Johnson Electric",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "bot", "exclude", "import", str(path)),
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def say(harness: Harness, text: str) -> str:
    response = await slash_command(harness, text)
    return str(await response.text())


async def test_a_csv_import_reports_added_already_there_and_invalid_with_each_line(
    harness: Harness, tmp_path: Path
) -> None:
    await say(harness, "exclude add (212) 555-0142 landlord")
    path = tmp_path / "contacts.csv"
    path.write_text(CSV)

    code, out, err = await run_import(harness, path)

    print(out)  # the report, as a person reads it
    assert code == 0, err
    assert "exclude import: read 6 numbers from 7 rows of contacts.csv" in err
    assert "exclude import: 4/4 numbers saved…" in err  # progress
    assert (
        'contacts.csv: CSV, 7 rows (header row: Name, Phone, Notes); numbers from "Phone", '
        'notes from "Name + Notes"'
    ) in out
    assert "Added (3):\n" in out
    assert "  line 2: (202) 555-0101 — Bob's Plumbing Supply — supplier\n" in out
    assert "  line 3: (202) 555-0102 — Mom\n" in out
    assert "  line 4: (202) 555-0103 — Joe Crew\n" in out
    assert "Already there (2):\n" in out
    assert "  line 5: (202) 555-0101 — Bob again (also on line 2 of this file)\n" in out
    assert "  line 9: (212) 555-0142 — Already There (already excluded)\n" in out
    assert "Invalid (2):\n" in out
    assert "  line 6: '555-1234' is not a" in out
    assert "  line 7: no phone number in this row (No Phone)\n" in out
    assert out.rstrip().endswith("Done: 3 added, 2 already there, 2 invalid.")

    excluded = await harness.services.callers.excluded()
    assert excluded["+12025550101"].note == "Bob's Plumbing Supply — supplier"
    assert excluded["+12125550142"].note == "landlord"  # already there: its note stays
    # What the missed-call decision reads: an imported number gets no auto-text.
    ts = await open_lead_without_text(harness, "+12025550102")
    assert "exclusion list" in str(harness.slack.messages[(CHANNEL, ts)]["text"])


async def open_lead_without_text(harness: Harness, caller: str) -> str:
    await harness.missed_call(caller=caller)
    await harness.drained()
    assert harness.twilio.messages_to(caller) == []
    [ts] = [ts for (_, ts), m in harness.slack.messages.items() if caller[-4:] in str(m)]
    return ts


async def test_a_vcard_import_takes_every_tel_noted_with_the_contacts_name(
    harness: Harness, tmp_path: Path
) -> None:
    path = tmp_path / "iPhone contacts.vcf"
    path.write_text(VCARD, encoding="utf-8")

    code, out, err = await run_import(harness, path)

    print(out)
    assert code == 0, err
    assert "iPhone contacts.vcf: vCard, 5 contacts\n" in out
    assert "  line 5: (202) 555-0106 — Maria Lopez\n" in out
    assert "  line 6: (212) 555-0107 — Maria Lopez\n" in out
    assert "  line 12: (202) 555-0108 — Élise Dupont\n" in out
    assert "  line 17: (202) 555-0106 — Supplier, Inc. (also on line 5 of this file)\n" in out
    assert "  line 19: contact without a phone number (Email Only)\n" in out
    assert "  line 28: '12345' is not a" in out and "(Tony the Long Name)" in out
    assert out.rstrip().endswith("Done: 3 added, 1 already there, 2 invalid.")
    assert set(await harness.services.callers.excluded()) == {
        "+12025550106",
        "+12125550107",
        "+12025550108",
    }


async def test_an_unreadable_file_stops_with_a_clear_message(
    harness: Harness, tmp_path: Path
) -> None:
    missing = await run_import(harness, tmp_path / "nope.csv")
    assert missing[0] == 2 and "cannot read" in missing[2] and "nope.csv" in missing[2]
    words = tmp_path / "words.csv"
    words.write_text("Name,Email\nBob,bob@example.com\n")
    code, out, err = await run_import(harness, words)
    assert code == 2 and out == ""
    assert "no column of phone numbers found (columns: Name, Email)" in err


async def test_exclude_add_takes_several_numbers_and_a_note_for_them_all(harness: Harness) -> None:
    answer = await say(harness, "exclude add 202-555-0111, (202) 555-0112,+12025550113 Acme, Inc")

    assert answer.count("Excluded") == 3 and answer.count("(Acme, Inc)") == 3
    excluded = await harness.services.callers.excluded()
    assert {phone: e.note for phone, e in excluded.items()} == {
        "+12025550111": "Acme, Inc",
        "+12025550112": "Acme, Inc",
        "+12025550113": "Acme, Inc",
    }


async def test_exclude_add_with_one_bad_number_saves_none(harness: Harness) -> None:
    answer = await say(harness, "exclude add 202-555-0111, 555-0199, 202-555-0113")
    assert "'555-0199' is not a" in answer and "Usage" in answer
    assert await harness.services.callers.excluded() == {}
    removed = await say(harness, "exclude remove 202-555-0111, 202-555-0113")
    assert removed.count("was not on the exclusion list") == 2


async def test_an_excluded_caller_still_gets_a_card(harness: Harness) -> None:
    await say(harness, "exclude add 202-555-0123, 202-555-0124")
    await harness.missed_call()
    await harness.drained()
    assert harness.twilio.messages_to("+12025550123") == []
    assert await open_lead(harness, caller="+12025550125")  # others are still texted


# --- pure ----------------------------------------------------------------------------------------


def test_a_headerless_semicolon_csv_finds_the_number_column_by_its_cells() -> None:
    found = contacts.read("Electrician friend;(202) 555-0104\nBoss;202-555-0105\n")
    assert found.header is None and found.number_columns == ["column 2"]
    assert [(c.line, c.number, c.note) for c in found.contacts] == [
        (1, "(202) 555-0104", "Electrician friend"),
        (2, "202-555-0105", "Boss"),
    ]


def test_a_google_contacts_export_takes_every_phone_column_and_joins_the_name() -> None:
    text = (
        "First Name,Last Name,Phone 1 - Label,Phone 1 - Value,Phone 2 - Label,Phone 2 - Value\n"
        "Ann,Lee,Mobile,+1 202-555-0131 ::: +1 202-555-0132,Work,(212) 555-0133\n"
    )
    found = contacts.read(text, "contacts.csv")
    assert found.number_columns == ["Phone 1 - Value", "Phone 2 - Value"]
    assert found.note_column == "First Name + Last Name"
    assert [c.number for c in found.contacts] == [
        "+1 202-555-0131",
        "+1 202-555-0132",
        "(212) 555-0133",
    ]
    assert {c.note for c in found.contacts} == {"Ann Lee"}


def test_a_single_column_of_numbers_needs_no_header() -> None:
    found = contacts.read("\ufeff2025550141\n\n202 555 0142\n")
    assert [(c.line, c.number) for c in found.contacts] == [(1, "2025550141"), (3, "202 555 0142")]


@pytest.mark.parametrize(
    ("text", "name", "problem"),
    [
        ("", "a.csv", "the file has no rows"),
        ("BEGIN:VCARDX\n", "a.vcf", "no BEGIN:VCARD"),
    ],
)
def test_files_that_are_no_contact_list_are_refused(text: str, name: str, problem: str) -> None:
    with pytest.raises(ContactsError, match=problem):
        contacts.read(text, name)
