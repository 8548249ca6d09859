"""`python -m bot leads export`: one row per lead kept, for a spreadsheet or a CRM's import.

SCANs the lead hashes (never KEYS: the store stays responsive), reads them a batch per round
trip, and writes the rows oldest first to stdout or a file, progress on stderr. Slack names
and the thread links are looked up by the caller (bot/cli.py) between reading and writing.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping
from typing import Literal, TextIO

from bot.domain import lead_export
from bot.domain.leads import LeadRecord
from bot.domain.spreadsheet import safe_cell
from bot.lines import Lines
from bot.services import Services

Format = Literal["csv", "json"]
BATCH = 500  # leads read per round trip
PROGRESS_EVERY = 1_000  # leads


class UnknownLine(ValueError):
    pass


def check_line(lines: Lines, line: str | None) -> None:
    """UnknownLine, naming the lines there are, for a line this deployment doesn't answer."""
    known = [found.id for found in lines.all]
    if line is not None and line not in known:
        raise UnknownLine(f"--line {line!r}: no such line (this deployment has {', '.join(known)})")


async def read(
    services: Services,
    *,
    since: float | None = None,
    line: str | None = None,
    progress: TextIO = sys.stderr,
) -> list[LeadRecord]:
    """The leads kept (opened at or after `since`, on `line`), oldest first."""
    found: list[LeadRecord] = []
    batch: list[tuple[str, str]] = []
    seen = 0

    async def flush() -> None:
        nonlocal seen
        for record in await services.leads.records(batch):
            seen += 1
            if seen % PROGRESS_EVERY == 0:
                print(f"leads export: {seen} leads read…", file=progress)
            if record is None or (line is not None and record.state.line != line):
                continue
            opened = record.opened_at or record.called_at or 0.0
            if since is None or opened >= since:
                found.append(record)
        batch.clear()

    async for lead in services.leads.every_lead():
        batch.append(lead)
        if len(batch) >= BATCH:
            await flush()
    await flush()
    found.sort(key=lambda r: (r.opened_at or r.called_at or 0.0, r.lead_id))
    return found


def people(records: list[LeadRecord]) -> list[str]:
    """The Slack users the rows name (claimers, first answers)."""
    ids = {r.state.claimer for r in records} | {r.first_answer_by for r in records}
    return sorted(i for i in ids if i)


def write(
    services: Services,
    records: list[LeadRecord],
    out: TextIO,
    *,
    fmt: Format = "csv",
    names: Mapping[str, str],
    workspace_url: str | None,
    progress: TextIO = sys.stderr,
) -> int:
    rows = (
        lead_export.row(
            record, services.lines.known(record.state.line).business_name, names, workspace_url
        )
        for record in records
    )
    written = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=list(lead_export.FIELDS))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: safe_cell(v) if isinstance(v, str) else v for k, v in row.items()})
            written += 1
    else:
        out.write("[")
        for row in rows:
            out.write(("\n" if written == 0 else ",\n") + json.dumps(row, ensure_ascii=False))
            written += 1
        out.write("\n]\n" if written else "]\n")
    print(f"leads export: done, {written} leads", file=progress)
    return written
