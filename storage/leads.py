"""Redis verbs for lead cards and their reminders. Key names live in storage/keys.py.

A lead's state is one hash (tagged with the caller's number); transitions are pure functions
from bot/leads.py, written only if the lead's version is still the one they read (a Lua
compare-and-set, retried on a conflict), so two clicks at once both see the other's result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.domain.leads import LeadState
from storage.keys import DAY, Keys
from storage.stats import STATS_TTL
from storage.threads import THREAD_TTL

UPDATE_QUEUED_TTL = 120  # a lost update job frees the slot after this long

# KEYS: lead hash. Returns the waiting-since time it cleared, or false.
_STOP_WAITING = """
local since = redis.call('HGET', KEYS[1], 'waiting_since')
if not since then return false end
redis.call('HDEL', KEYS[1], 'waiting_since')
return since
"""

# KEYS: lead hash. ARGV: the version the transition read, then field, value pairs.
# Returns {new version, the card's ts as of this change ('' while not posted)}, or false when
# another change came first (read again and retry). The ts is read in the same step because a
# change to a card not posted yet queues no update (the card renders the state when it posts).
# Lua rather than WATCH/MULTI: one round trip, and the same on a cluster as on one server.
_CHANGE_IF_VERSION = """
if tonumber(redis.call('HGET', KEYS[1], 'version') or '0') ~= tonumber(ARGV[1]) then
  return false
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
return {version, redis.call('HGET', KEYS[1], 'ts') or ''}
"""


class LeadStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._stop_waiting = redis.register_script(_STOP_WAITING)
        self._change_if_version = redis.register_script(_CHANGE_IF_VERSION)

    async def get(self, phone: str, lead_id: str) -> LeadState:
        raw = await self.redis.hgetall(self.keys.lead(phone, lead_id))
        return LeadState.from_hash(_strs(raw))

    def open_lead(
        self,
        pipe: Pipeline,
        phone: str,
        line: str,
        lead_id: str,
        day: str,
        now: float,
        *counts: str,
        caller_name: str | None = None,
    ) -> None:
        """Note the lead (and count `counts` for the day) on the caller's pipeline; caller_name:
        Twilio's, for whoever calls them back to hear."""
        key = self.keys.lead(phone, lead_id)
        for name in counts:
            pipe.hincrby(self.keys.stats_day(line, day), name, 1)
        if counts:
            pipe.expire(self.keys.stats_day(line, day), STATS_TTL)
        pipe.hset(key, mapping={"phone": phone, "line": line})
        if caller_name:
            pipe.hset(key, "caller_name", caller_name[:60])
        pipe.hsetnx(key, "opened_at", now)
        pipe.expire(key, THREAD_TTL)
        pipe.zadd(self.keys.leads_of_day(day), {f"{phone}|{line}|{lead_id}": now}, nx=True)
        pipe.expire(self.keys.leads_of_day(day), 8 * DAY)

    async def open_and_get(
        self, phone: str, line: str, lead_id: str, day: str, now: float, first_time: str | None
    ) -> tuple[LeadState, bool]:
        """open_lead, first_time (when given) and get in one round trip: the lead's state, and
        whether this was the first time for `first_time`."""
        key = self.keys.lead(phone, lead_id)
        pipe = self.redis.pipeline(transaction=False)
        self.open_lead(pipe, phone, line, lead_id, day, now)
        if first_time is not None:
            pipe.hsetnx(key, f"counted_{first_time}", "1")
        pipe.hgetall(key)
        replies = await pipe.execute()
        first = first_time is not None and bool(replies[-2])
        return LeadState.from_hash(_strs(replies[-1])), first

    async def leads_of_day(self, day: str) -> list[tuple[str, str, str]]:
        members = await self.redis.zrange(self.keys.leads_of_day(day), 0, -1)
        found = [str(m).split("|", 2) for m in members]
        return [(m[0], m[1], m[2]) for m in found if len(m) == 3]

    async def card_failed(self, phone: str, lead_id: str) -> None:
        await self.redis.hset(self.keys.lead(phone, lead_id), "card_failed", "1")

    async def set_summary(self, phone: str, lead_id: str, summary: str) -> LeadState:
        """Keep the card's plain-text summary; returns the lead as the card will show it."""
        key = self.keys.lead(phone, lead_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(key, "summary", summary)
        pipe.hgetall(key)
        _, raw = await pipe.execute()
        return LeadState.from_hash(_strs(raw))

    async def change(
        self,
        phone: str,
        lead_id: str,
        transition: Callable[[LeadState], LeadState | None],
        before: LeadState | None = None,
    ) -> tuple[LeadState, LeadState] | None:
        """Apply a pure transition atomically; (before, after), or None when nothing changed.
        after.ts and after.version are the card's ts and the new version as written. `before`:
        the state just read, to start from (read again if another change came first)."""
        key = self.keys.lead(phone, lead_id)
        while True:
            if before is None:
                before = LeadState.from_hash(_strs(await self.redis.hgetall(key)))
            after = transition(before)
            if after is None:
                return None
            pairs = [item for pair in after.changes().items() for item in pair]
            written = await self._change_if_version(keys=[key], args=[before.version, *pairs])
            if written:
                return before, replace(after, version=int(written[0]), ts=str(written[1]))
            before = None

    async def first_time(self, phone: str, lead_id: str, what: str) -> bool:
        """True once per lead for `what` (claimed, booked, replied): what stats count."""
        return bool(await self.redis.hsetnx(self.keys.lead(phone, lead_id), f"counted_{what}", "1"))

    async def queue_update_once(self, phone: str, lead_id: str, crew: bool = False) -> bool:
        """True when no update for this lead is queued yet in its lane (the queued one renders
        the latest state when it runs, so more would only spend chat.update's budget)."""
        key = self.keys.update_queued(phone, lead_id, crew)
        return bool(await self.redis.set(key, "1", nx=True, ex=UPDATE_QUEUED_TTL))

    async def update_taken(self, phone: str, lead_id: str, crew: bool = False) -> None:
        await self.redis.delete(self.keys.update_queued(phone, lead_id, crew))

    async def rendered(self, phone: str, lead_id: str, version: int) -> None:
        await self.redis.hset(self.keys.lead(phone, lead_id), "rendered", version)

    async def stale(self, phone: str, lead_id: str) -> bool:
        """True when the lead changed after the version its card in Slack shows."""
        version, rendered = await self.redis.hmget(
            self.keys.lead(phone, lead_id), ["version", "rendered"]
        )
        return int(version or 0) > int(rendered or -1)

    async def version(self, phone: str, lead_id: str) -> int:
        return int(await self.redis.hget(self.keys.lead(phone, lead_id), "version") or 0)

    # --- "nobody answered" ------------------------------------------------------------------
    async def start_waiting(
        self, phone: str, line: str, lead_id: str, since: float, due: list[float]
    ) -> bool:
        """The caller's text starts the clock, unless it is already running."""
        if not await self.redis.hsetnx(self.keys.lead(phone, lead_id), "waiting_since", since):
            return False
        members = {
            _reminder(phone, line, lead_id, since, n): at for n, at in enumerate(due, start=1)
        }
        await self.redis.zadd(self.keys.reminders(), members)  # type: ignore[arg-type]
        return True

    async def stop_waiting(self, phone: str, line: str, lead_id: str, count: int) -> float | None:
        """A human answered: the clock stops and its reminders go. Returns when it started."""
        since = await self._stop_waiting(keys=[self.keys.lead(phone, lead_id)])
        if since is None:
            return None
        members = [_reminder(phone, line, lead_id, float(since), n) for n in range(1, count + 1)]
        await self.redis.zrem(self.keys.reminders(), *members)
        return float(since)

    async def due_reminders(self, now: float, limit: int = 50) -> list[dict[str, Any]]:
        members = await self.redis.zrangebyscore(self.keys.reminders(), "-inf", now, 0, limit)
        return [
            dict(zip(("phone", "line", "lead_id", "since", "n"), str(m).split("|"), strict=True))
            for m in members
        ]

    async def drop_reminder(self, reminder: dict[str, Any]) -> None:
        member = "|".join(str(reminder[k]) for k in ("phone", "line", "lead_id", "since", "n"))
        await self.redis.zrem(self.keys.reminders(), member)

    async def waiting_since(self, phone: str, lead_id: str) -> str | None:
        value = await self.redis.hget(self.keys.lead(phone, lead_id), "waiting_since")
        return value if isinstance(value, str) else None


def _strs(raw: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in dict(raw).items()}


def _reminder(phone: str, line: str, lead_id: str, since: float, n: int) -> str:
    return f"{phone}|{line}|{lead_id}|{since:.3f}|{n}"
