"""The consent ledger: an append-only history per phone number (a Redis stream, no expiry).

Events: implied_consent (a call), text_sent (an automated text), explicit_consent (the intake
form, consent ticked), opt_out (keyword, carrier or crew), opt_in (the caller's START). The
opt-out and opt-in entries of a caller's own text, and a call's implied consent, are written by
the Lua scripts in storage/calls.py and storage/callers.py in the same step as the flags they
explain.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.domain.consent import LedgerEntry
from storage.keys import Keys


def _entry(phone: str, entry_id: str, values: dict[str, str]) -> LedgerEntry:
    rest = dict(values)
    event = rest.pop("event", "?")
    at = float(rest.pop("at", "0") or 0)
    return LedgerEntry(phone=phone, id=entry_id, event=event, at=at, detail=rest)


class Ledger:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def append(self, phone: str, event: str, at: float, **detail: str) -> str:
        values = {"event": event, "at": str(at), **{k: v for k, v in detail.items()}}
        return str(await self.redis.xadd(self.keys.ledger(phone), values))  # type: ignore[arg-type]

    def add(self, pipe: Pipeline, phone: str, event: str, at: float, **detail: str) -> None:
        """append() as a command on the caller's pipeline."""
        values = {"event": event, "at": str(at), **{k: v for k, v in detail.items()}}
        pipe.xadd(self.keys.ledger(phone), values)  # type: ignore[arg-type]

    async def history(self, phone: str, newest: int | None = None) -> list[LedgerEntry]:
        """Oldest first; `newest` keeps only that many of the latest entries."""
        key = self.keys.ledger(phone)
        raw: Any
        if newest is None:
            raw = await self.redis.xrange(key)
        else:
            latest: Any = await self.redis.xrevrange(key, count=newest)
            raw = list(reversed(latest))
        return [_entry(phone, entry_id, values) for entry_id, values in raw]

    async def count(self, phone: str) -> int:
        return int(await self.redis.xlen(self.keys.ledger(phone)))

    async def numbers(self) -> AsyncIterator[str]:
        """Every number with a ledger (SCAN: never blocks Redis, may take a while on big sets)."""
        seen: set[str] = set()
        async for key in self.redis.scan_iter(
            match=self.keys.ledger_pattern(), count=1000, _type="stream"
        ):
            phone = str(key).split("{", 1)[1].split("}", 1)[0]
            if phone not in seen:  # SCAN may return a key twice
                seen.add(phone)
                yield phone

    async def entries(self, phone: str, batch: int = 500) -> AsyncIterator[LedgerEntry]:
        """All of a number's entries, oldest first, read in batches."""
        key = self.keys.ledger(phone)
        start = "-"
        while True:
            raw: Any = await self.redis.xrange(key, min=start, count=batch)
            for entry_id, values in raw:
                yield _entry(phone, entry_id, values)
            if len(raw) < batch:
                return
            start = "(" + raw[-1][0]
