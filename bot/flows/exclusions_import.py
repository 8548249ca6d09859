"""`python -m bot exclude import FILE`: a phone's contacts onto the exclusion list, in bulk.

The file is read by bot/domain/contacts.py (CSV or vCard); each number is checked, numbers the
file repeats are counted once, and the rest go to Redis in batches (storage Callers.exclude_new:
a number already excluded keeps its note). Exclusions hold on every line. Every entry ends in
one of three outcomes, each with the file's line: added, already there, invalid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from bot.domain.contacts import ContactList
from bot.domain.phone import InvalidNumber, pretty, to_e164
from storage.callers import Callers

Result = Literal["added", "already", "invalid"]
BATCH = 500  # numbers per round trip pair
MAX_NOTE = 200  # characters of a note kept (a vCard's name, a CSV's note cell)


@dataclass(frozen=True)
class Outcome:
    line: int
    result: Result
    number: str  # E.164 once valid, else as written ("" for a row without any)
    note: str = ""
    reason: str = ""  # why it is already there, or invalid


@dataclass
class ImportReport:
    contacts: ContactList
    outcomes: list[Outcome] = field(default_factory=list)

    def of(self, result: Result) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.result == result]


async def import_contacts(
    callers: Callers, contacts: ContactList, progress: Callable[[str], None]
) -> ImportReport:
    report = ImportReport(contacts)
    outcomes = report.outcomes
    outcomes += [Outcome(s.line, "invalid", "", reason=s.reason) for s in contacts.skipped]
    first_line: dict[str, int] = {}
    pending: list[tuple[int, str, str]] = []  # line, E.164, note
    for contact in contacts.contacts:
        note = contact.note[:MAX_NOTE]
        try:
            phone = to_e164(contact.number)
        except InvalidNumber as exc:
            outcomes.append(Outcome(contact.line, "invalid", contact.number, note, str(exc)))
            continue
        if phone in first_line:
            again = f"also on line {first_line[phone]} of this file"
            outcomes.append(Outcome(contact.line, "already", phone, note, again))
            continue
        first_line[phone] = contact.line
        pending.append((contact.line, phone, note))
    done = 0
    for start in range(0, len(pending), BATCH):
        batch = pending[start : start + BATCH]
        added = await callers.exclude_new([(phone, note) for _, phone, note in batch])
        for (line, phone, note), new in zip(batch, added, strict=True):
            if new:
                outcomes.append(Outcome(line, "added", phone, note))
            else:
                outcomes.append(Outcome(line, "already", phone, note, "already excluded"))
        done += len(batch)
        progress(f"exclude import: {done}/{len(pending)} numbers saved…")
    outcomes.sort(key=lambda outcome: outcome.line)
    return report


def render(report: ImportReport, name: str) -> str:
    """The report: what was read, then each outcome with its line, then the totals."""
    contacts = report.contacts
    read = f"{name}: {contacts.kind}, {contacts.rows} " + (
        "contacts" if contacts.kind == "vCard" else "rows"
    )
    if contacts.kind == "CSV":
        header = f"header row: {', '.join(contacts.header)}" if contacts.header else "no header row"
        numbers = ", ".join(f'"{c}"' for c in contacts.number_columns or [])
        note = f'"{contacts.note_column}"' if contacts.note_column else "no note column"
        read += f" ({header}); numbers from {numbers}, notes from {note}"
    rows = [read]
    titles: dict[Result, str] = {
        "added": "Added",
        "already": "Already there",
        "invalid": "Invalid",
    }
    for result, title in titles.items():
        found = report.of(result)
        rows.append(f"{title} ({len(found)}):")
        rows += [f"  line {o.line}: {_entry(o)}" for o in found]
    rows.append(
        f"Done: {len(report.of('added'))} added, {len(report.of('already'))} already there, "
        f"{len(report.of('invalid'))} invalid."
    )
    return "\n".join(rows)


def _entry(outcome: Outcome) -> str:
    if outcome.result == "invalid":
        return outcome.reason + (f" ({outcome.note})" if outcome.note else "")
    shown = pretty(outcome.number) + (f" — {outcome.note}" if outcome.note else "")
    return shown + (f" ({outcome.reason})" if outcome.reason else "")
