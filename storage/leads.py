"""Redis verbs for lead cards and their reminders. Key names live in storage/keys.py.

A lead's state is one hash (tagged with the caller's number); transitions are pure functions
from bot/leads.py, written only if the lead's version is still the one they read (a Lua
compare-and-set, retried on a conflict), so two clicks at once both see the other's result.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.domain.leads import LeadRecord, LeadState
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

# A caller's text, after the claim opened the lead (storage/callers.py) and the flow decided
# the transition from the hash it returned: everything on the caller's own keys in one step.
# KEYS: lead hash, caller hash (its post order), the lead's update-queued marker.
# ARGV: the version the transition read ('' when there is no transition), update marker TTL,
# waiting since ('' to leave the clock alone), stop the clock ('1'), extra places in the thread
# order, then the transition's field, value pairs.
# A compare-and-set: when the version moved since the claim read it, nothing is written and
# {0} comes back (the flow decides again from a fresh read). Otherwise {1, new version or '',
# card update to queue (1/0), clock started (1/0), the time a stopped clock had started or '',
# first extra place}. An update is queued, once per lane, only for a card already in Slack (or
# one Slack refused): a card not posted yet renders the state when it posts.
_SETTLE_TEXT = """
local lead = KEYS[1]
local version, queued = '', 0
if ARGV[1] ~= '' then
  if tonumber(redis.call('HGET', lead, 'version') or '0') ~= tonumber(ARGV[1]) then
    return {0}
  end
  redis.call('HSET', lead, unpack(ARGV, 6))
  version = redis.call('HINCRBY', lead, 'version', 1)
  local card = redis.call('HMGET', lead, 'ts', 'card_failed')
  if (card[1] and card[1] ~= '') or card[2] == '1' then
    queued = redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[2]) and 1 or 0
  end
end
local started, stopped = 0, ''
if ARGV[3] ~= '' then started = redis.call('HSETNX', lead, 'waiting_since', ARGV[3]) end
if ARGV[4] == '1' then
  stopped = redis.call('HGET', lead, 'waiting_since') or ''
  redis.call('HDEL', lead, 'waiting_since')
end
local extra, place = tonumber(ARGV[5]), 0
if extra > 0 then place = redis.call('HINCRBY', KEYS[2], 'seq', extra) - extra + 1 end
return {1, version, queued, started, stopped, place}
"""


@dataclass(frozen=True)
class TextSettled:
    """What settle_text wrote (applied) or why it wrote nothing (not applied: re-decide)."""

    applied: bool
    version: int | None = None  # the lead's new version, None when there was no transition
    update_queued: bool = False  # the card update's marker is ours: queue the job
    clock_started: bool = False  # the reminders' times go on the final pipeline
    clock_stopped_since: float | None = None  # those reminders go
    first_place: int = 0  # the first of the extra places in the thread order


class LeadStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._stop_waiting = redis.register_script(_STOP_WAITING)
        self._change_if_version = redis.register_script(_CHANGE_IF_VERSION)
        self._settle_text = redis.register_script(_SETTLE_TEXT)

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
        self.of_the_day(pipe, phone, line, lead_id, day, now)

    def of_the_day(
        self, pipe: Pipeline, phone: str, line: str, lead_id: str, day: str, now: float
    ) -> None:
        """The lead among the day's leads (the export and the digest read them), on a pipeline."""
        pipe.zadd(self.keys.leads_of_day(day), {f"{phone}|{line}|{lead_id}": now}, nx=True)
        pipe.expire(self.keys.leads_of_day(day), 8 * DAY)

    def note_call(
        self,
        pipe: Pipeline,
        phone: str,
        lead_id: str,
        now: float,
        business_number: str,
        outcome: str,
    ) -> None:
        """A missed call of the lead, on the caller's pipeline: the first call's time, the
        number called, and why no auto-text went out when none did (a text that goes out
        records its own outcome). The caller's name is open_lead's (Twilio's CallerName)."""
        key = self.keys.lead(phone, lead_id)
        pipe.hsetnx(key, "called_at", now)
        pipe.hsetnx(key, "business_number", business_number)
        if outcome != "send":
            pipe.hsetnx(key, "auto_text", "not_sent")
            pipe.hsetnx(key, "auto_text_error", outcome)

    async def open_and_get(
        self,
        phone: str,
        line: str,
        lead_id: str,
        day: str,
        now: float,
        first_time: str | None,
        business_number: str = "",
    ) -> tuple[LeadState, bool]:
        """A caller's text: open_lead, count it, first_time (when given, with the first reply's
        time) and get in one round trip: the lead's state, and whether this was the first time
        for `first_time`."""
        key = self.keys.lead(phone, lead_id)
        pipe = self.redis.pipeline(transaction=False)
        self.open_lead(pipe, phone, line, lead_id, day, now)
        pipe.hincrby(key, "texts_in", 1)
        if business_number:
            pipe.hsetnx(key, "business_number", business_number)
        if first_time == "replied":
            pipe.hsetnx(key, "first_reply_at", now)
        if first_time is not None:
            pipe.hsetnx(key, f"counted_{first_time}", "1")
        pipe.hgetall(key)
        replies = await pipe.execute()
        first = first_time is not None and bool(replies[-2])
        return LeadState.from_hash(_strs(replies[-1])), first

    def text_sent(
        self,
        pipe: Pipeline,
        phone: str,
        lead_id: str,
        now: float,
        *,
        auto: bool = False,
        author: str | None = None,
    ) -> None:
        """Twilio accepted a text to the lead's caller, on the worker's pipeline: counted; an
        auto-text's time and outcome; a crew reply by `author` may be the first answer."""
        key = self.keys.lead(phone, lead_id)
        pipe.hincrby(key, "texts_out", 1)
        if auto:
            pipe.hsetnx(key, "texted_at", now)
            pipe.hset(key, mapping={"auto_text": "sent", "auto_text_error": ""})
        if author:
            # One field, so the time and the author always come from the same reply.
            pipe.hsetnx(key, "first_answer", f"{now}|{author}")

    async def called_back(self, phone: str, lead_id: str, now: float, user: str) -> None:
        """`user`'s call back reached the caller: the first answer, unless a reply was."""
        await self.redis.hsetnx(self.keys.lead(phone, lead_id), "first_answer", f"{now}|{user}")

    async def text_failed(self, phone: str, lead_id: str, outcome: str, reason: str) -> None:
        """The auto-text did not go out (failed, not_sent) or did not arrive (undelivered)."""
        key = self.keys.lead(phone, lead_id)
        await self.redis.hset(key, mapping={"auto_text": outcome, "auto_text_error": reason})

    async def intake_name(self, phone: str, lead_id: str, name: str) -> None:
        """The name the caller typed in the intake form (preferred to Twilio's CallerName)."""
        await self.redis.hset(self.keys.lead(phone, lead_id), "intake_name", name)

    async def every_lead(self) -> AsyncIterator[tuple[str, str]]:
        """(phone, lead id) of every lead kept (SCAN, never KEYS: Redis stays responsive)."""
        # prefix:{+12025550123}:lead:<id>, and nothing after the id (those are other keys).
        async for key in self.redis.scan_iter(match=f"{self.keys.prefix}:{{*}}:lead:*", count=1000):
            tagged, _, lead_id = str(key)[len(self.keys.prefix) + 1 :].partition(":lead:")
            if lead_id and ":" not in lead_id and tagged.startswith("{") and tagged.endswith("}"):
                yield tagged[1:-1], lead_id

    async def records(self, leads: list[tuple[str, str]]) -> list[LeadRecord | None]:
        """Many leads in one round trip (None for one that expired meanwhile)."""
        pipe = self.redis.pipeline(transaction=False)
        for phone, lead_id in leads:
            pipe.hgetall(self.keys.lead(phone, lead_id))
        found = await pipe.execute()
        return [
            LeadRecord.from_hash(lead_id, _strs(raw)) if raw else None
            for (_, lead_id), raw in zip(leads, found, strict=True)
        ]

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

    async def settle_text(
        self,
        phone: str,
        line: str,
        lead_id: str,
        *,
        read_version: int | None,
        changes: dict[str, str],
        start_waiting: float | None,
        stop_waiting: bool,
        extra_places: int,
    ) -> TextSettled:
        """A caller's text on its lead in one round trip: the transition `changes` if the lead
        is still at `read_version` (None: no transition, nothing to compare), the card update's
        marker, the reply clock started or stopped, `extra_places` in the thread order."""
        pairs = [item for pair in changes.items() for item in pair]
        keys = [
            self.keys.lead(phone, lead_id),
            self.keys.caller(phone, line),
            self.keys.update_queued(phone, lead_id),
        ]
        args: list[str | float] = [
            "" if read_version is None else read_version,
            UPDATE_QUEUED_TTL,
            "" if start_waiting is None else start_waiting,
            "1" if stop_waiting else "0",
            extra_places,
            *pairs,
        ]
        reply = await self._settle_text(keys=keys, args=args)
        if not int(reply[0]):
            return TextSettled(applied=False)
        _, version, queued, started, stopped, place = reply
        return TextSettled(
            applied=True,
            version=int(version) if version != "" else None,
            update_queued=bool(int(queued)),
            clock_started=bool(int(started)),
            clock_stopped_since=float(stopped) if stopped != "" else None,
            first_place=int(place),
        )

    def reminders_on(
        self, pipe: Pipeline, phone: str, line: str, lead_id: str, since: float, due: list[float]
    ) -> None:
        """The reminders of a clock settle_text started, on the caller's pipeline."""
        members = {
            _reminder(phone, line, lead_id, since, n): at for n, at in enumerate(due, start=1)
        }
        pipe.zadd(self.keys.reminders(), members)  # type: ignore[arg-type]

    def reminders_off(
        self, pipe: Pipeline, phone: str, line: str, lead_id: str, since: float, count: int
    ) -> None:
        """The reminders of a clock settle_text stopped, on the caller's pipeline."""
        members = [_reminder(phone, line, lead_id, since, n) for n in range(1, count + 1)]
        pipe.zrem(self.keys.reminders(), *members)

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
