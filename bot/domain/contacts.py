"""Reading a contact list for the exclusion list: a CSV or a vCard file a phone exports. Pure.

A CSV may or may not start with a header row. With one, every column whose header names a
phone ("Phone", "Mobile Phone", "Phone 1 - Value") holds numbers, and the note is the name
("Name", "Full Name", first and last name together, else "Company") followed by a "Note"
column's words. Without one, the column where most cells look like phone numbers holds them
and the first other column with words in it gives the note. A vCard file (.vcf) gives each
card's TEL numbers, noted with its FN (formatted name). Every entry keeps the file's line
number, so a report can point at it.
"""

from __future__ import annotations

import csv
import io
import quopri
import re
from dataclasses import dataclass

PHONE_WORDS = ("phone", "mobile", "cell", "tel", "number", "whatsapp")
NOT_NUMBERS = ("type", "label", "fax", "e-mail", "email")
NAME_HEADERS = ("name", "full name", "display name", "contact", "contact name")
COMPANY_HEADERS = ("company", "organization", "organisation", "organization 1 - name", "business")
REMARK_HEADERS = ("note", "notes", "comment", "comments", "description", "remarks")
FIRST_NAMES = ("first name", "given name", "firstname", "first")
LAST_NAMES = ("last name", "family name", "surname", "lastname", "last")
MIN_DIGITS = 7  # fewer digits than any dialable number: a cell like this is words, not a number
SAMPLE_ROWS = 200  # rows looked at to find the number and note columns
_MULTI = re.compile(r"\s*:::\s*")  # Google Contacts puts several numbers in one cell this way


@dataclass(frozen=True)
class Contact:
    line: int  # where it is in the file (1 is the first line)
    number: str  # as written; the caller of read() checks it
    note: str = ""


@dataclass(frozen=True)
class Skipped:
    line: int
    reason: str


@dataclass(frozen=True)
class ContactList:
    kind: str  # "CSV" or "vCard"
    contacts: list[Contact]
    skipped: list[Skipped]  # rows or cards without any number
    rows: int  # data rows (CSV) or cards (vCard) read
    header: list[str] | None = None  # a CSV's header row, when it had one
    number_columns: list[str] | None = None  # what was taken for numbers, for the report
    note_column: str | None = None


class ContactsError(ValueError):
    """A file that can't be read as a contact list at all; the message says why."""


def read(text: str, name: str = "") -> ContactList:
    """A vCard file (by its name or its first line) or else a CSV."""
    if name.lower().endswith((".vcf", ".vcard")) or text.lstrip().upper().startswith("BEGIN:VCARD"):
        return read_vcard(text)
    return read_csv(text)


# --- CSV --------------------------------------------------------------------------------------


def read_csv(text: str) -> ContactList:
    text = text.lstrip("\ufeff")
    rows = _csv_rows(text)
    if not rows:
        raise ContactsError("the file has no rows")
    header: list[str] | None = None
    if _is_header(rows[0][1]):
        header = rows[0][1]
        rows = rows[1:]
    width = max([len(cells) for _, cells in rows] + [len(header or [])])
    sample = [cells for _, cells in rows[:SAMPLE_ROWS]]
    numbers = _number_columns(header, sample, width)
    if not numbers:
        raise ContactsError(
            "no column of phone numbers found"
            + (f" (columns: {', '.join(header)})" if header else "")
        )
    note = _note_columns(header, sample, width, numbers)
    contacts: list[Contact] = []
    skipped: list[Skipped] = []
    for line, cells in rows:
        found = [
            piece
            for column in numbers
            for piece in _MULTI.split(_cell(cells, column))
            if piece.strip()
        ]
        remark = _note(cells, note)
        if not found:
            skipped.append(Skipped(line, "no phone number in this row" + _named(remark)))
            continue
        contacts.extend(Contact(line, piece.strip(), remark) for piece in found)
    names = header or [f"column {n + 1}" for n in range(width)]
    return ContactList(
        "CSV",
        contacts,
        skipped,
        rows=len(rows),
        header=header,
        number_columns=[names[c] for c in numbers],
        note_column=" + ".join(names[c] for group in note for c in group) or None,
    )


def _note(cells: list[str], groups: list[list[int]]) -> str:
    """The name, then " — " and the remark: "Bob's Supply — pays late"."""
    parts = [" ".join(" ".join(_cell(cells, c).split()) for c in group) for group in groups]
    return " — ".join(part.strip() for part in parts if part.strip())


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    """Non-blank rows with the line each starts on (a quoted cell may span lines)."""
    try:
        dialect: type[csv.Dialect] | str = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = "excel"  # one column, or nothing to tell by: commas
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append((start, [cell.strip() for cell in cells]))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ContactsError(f"line {reader.line_num}: not readable as CSV ({exc})") from None
    return rows


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _looks_like_number(cell: str) -> bool:
    return any(_digits(piece) >= MIN_DIGITS for piece in _MULTI.split(cell))


def _is_header(cells: list[str]) -> bool:
    """No cell could be a number, and some cell is words."""
    return not any(_looks_like_number(cell) for cell in cells) and any(
        any(ch.isalpha() for ch in cell) for cell in cells
    )


def _cell(cells: list[str], column: int) -> str:
    return cells[column] if column < len(cells) else ""


def _number_columns(header: list[str] | None, sample: list[list[str]], width: int) -> list[int]:
    counts = [sum(_looks_like_number(_cell(row, c)) for row in sample) for c in range(width)]
    if header:
        named = [
            c
            for c, title in enumerate(header)
            if any(word in title.lower() for word in PHONE_WORDS)
            and not any(word in title.lower() for word in NOT_NUMBERS)
            and counts[c]
        ]
        if named:
            return named
    best = max(range(width), key=lambda c: (counts[c], -c)) if width else 0
    return [best] if width and counts[best] else []


def _note_columns(
    header: list[str] | None, sample: list[list[str]], width: int, numbers: list[int]
) -> list[list[int]]:
    """Column groups whose words make the note: [name columns, remark column]."""
    if header:
        titles = [title.lower().strip() for title in header]

        def first_of(wanted: tuple[str, ...]) -> int | None:
            return next((titles.index(t) for t in wanted if t in titles), None)

        name = first_of(NAME_HEADERS)
        names = [name] if name is not None else []
        if not names:
            names = [c for c in (first_of(FIRST_NAMES), first_of(LAST_NAMES)) if c is not None]
        company = first_of(COMPANY_HEADERS)
        if not names and company is not None:
            names = [company]
        remark = first_of(REMARK_HEADERS)
        return [group for group in (names, [remark] if remark is not None else []) if group]
    for column in range(width):
        if column not in numbers and any(
            any(ch.isalpha() for ch in _cell(row, column)) for row in sample
        ):
            return [[column]]
    return []


# --- vCard ------------------------------------------------------------------------------------


def read_vcard(text: str) -> ContactList:
    contacts: list[Contact] = []
    skipped: list[Skipped] = []
    cards = 0
    card: dict[str, str] | None = None
    numbers: list[tuple[int, str]] = []
    started = 0
    for line, name, params, value in _properties(text.lstrip("\ufeff")):
        if name == "BEGIN" and value.upper() == "VCARD":
            card, numbers, started = {}, [], line
        elif card is None:
            continue  # outside any card
        elif name == "END" and value.upper() == "VCARD":
            cards += 1
            note = card.get("FN") or card.get("N") or card.get("ORG") or ""
            if not numbers:
                skipped.append(Skipped(started, "contact without a phone number" + _named(note)))
            contacts.extend(Contact(at, number, note) for at, number in numbers)
            card = None
        elif name == "TEL":
            numbers.append((line, _value(value, params).removeprefix("tel:")))
        elif name in ("FN", "ORG") and name not in card:
            card[name] = " ".join(_value(value, params).replace(";", " ").split())
        elif name == "N" and "N" not in card:
            parts = _value(value, params, structured=True).split(";")
            # family;given;additional;prefix;suffix -> "given family"
            card["N"] = " ".join(p for p in (parts[1:2] + parts[:1]) if p.strip()).strip()
    if not cards:
        raise ContactsError("no BEGIN:VCARD … END:VCARD contact in the file")
    return ContactList("vCard", contacts, skipped, rows=cards)


def _named(note: str) -> str:
    return f" ({note})" if note else ""


def _properties(text: str) -> list[tuple[int, str, dict[str, str], str]]:
    """(line, NAME, params, raw value) per content line: folded lines (a leading space or tab)
    and vCard 2.1's quoted-printable soft breaks (a value ending in "=") joined."""
    physical = text.splitlines()
    logical: list[tuple[int, str]] = []
    for number, raw in enumerate(physical, start=1):
        if raw[:1] in (" ", "\t") and logical:
            at, before = logical[-1]
            logical[-1] = (at, before + raw[1:])
        elif logical and _soft_break(logical[-1][1]):
            at, before = logical[-1]
            logical[-1] = (at, before[:-1] + raw)
        elif raw.strip():
            logical.append((number, raw))
    found = []
    for number, content in logical:
        head, colon, value = content.partition(":")
        if not colon:
            continue
        name, *raw_params = head.split(";")
        params: dict[str, str] = {}
        for param in raw_params:
            key, equals, val = param.partition("=")
            # vCard 2.1 writes bare types (TEL;CELL): they matter to nobody here.
            params[key.upper()] = val.strip('"') if equals else ""
        found.append((number, name.split(".")[-1].upper(), params, value))
    return found


def _soft_break(content: str) -> bool:
    head = content.partition(":")[0].upper()
    return "QUOTED-PRINTABLE" in head and content.endswith("=")


def _value(value: str, params: dict[str, str], structured: bool = False) -> str:
    # vCard 2.1: ENCODING=QUOTED-PRINTABLE, or the bare QUOTED-PRINTABLE some phones write.
    if params.get("ENCODING", "").upper() == "QUOTED-PRINTABLE" or "QUOTED-PRINTABLE" in params:
        charset = params.get("CHARSET") or "utf-8"
        try:
            value = quopri.decodestring(value.encode("ascii", "replace")).decode(charset, "replace")
        except LookupError:  # an unknown charset name
            value = quopri.decodestring(value.encode("ascii", "replace")).decode("utf-8", "replace")
    # vCard escapes: \\ \, \; \n (a structured value keeps its ; separators)
    out: list[str] = []
    chars = iter(value)
    for ch in chars:
        if ch != "\\":
            out.append(ch)
            continue
        following = next(chars, "")
        if following in ("n", "N"):
            out.append(" ")
        elif following == ";" and structured:
            out.append(",")
        else:
            out.append(following)
    return "".join(out).strip()
