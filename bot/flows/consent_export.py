"""`python -m bot consent export`: every number's consent ledger, for a lawyer or an audit.

SCANs the ledger keys under the prefix (never KEYS: the store stays responsive), streams rows to
stdout or a file, and reports progress on stderr for big exports. A CSV cell that a spreadsheet
would run as a formula (a caller's message starting with `=`, say) is written as text
(bot/domain/spreadsheet.py).
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime
from typing import Literal, TextIO

from redis.asyncio import Redis

from bot.domain.consent import EXPORT_FIELDS, export_row
from bot.domain.spreadsheet import safe_cell
from storage.keys import Keys
from storage.ledger import Ledger

Format = Literal["csv", "json"]
PROGRESS_EVERY = 1_000  # numbers


def parse_since(text: str) -> float:
    """'2026-11-01' or an ISO date-time; without a zone it is UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"--since {text!r}: use a date like 2026-11-01") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


async def export(
    redis: Redis,
    keys: Keys,
    out: TextIO,
    *,
    fmt: Format = "csv",
    since: float | None = None,
    progress: TextIO = sys.stderr,
) -> int:
    """Writes every entry (oldest first per number, numbers in SCAN order); returns the count."""
    ledger = Ledger(redis, keys)
    writer = None
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=list(EXPORT_FIELDS), extrasaction="ignore")
        writer.writeheader()
    else:
        out.write("[")
    written = numbers = 0
    async for phone in ledger.numbers():
        numbers += 1
        async for entry in ledger.entries(phone):
            if since is not None and entry.at < since:
                continue
            row = export_row(entry)
            if writer is not None:
                writer.writerow({name: safe_cell(str(value)) for name, value in row.items()})
            else:
                out.write(("\n" if written == 0 else ",\n") + json.dumps(row, ensure_ascii=False))
            written += 1
        if numbers % PROGRESS_EVERY == 0:
            print(f"consent export: {numbers} numbers, {written} entries…", file=progress)
    if writer is None:
        out.write("\n]\n" if written else "]\n")
    print(f"consent export: done, {written} entries from {numbers} numbers", file=progress)
    return written
