"""Jobs held while Slack's wiring is broken, shared by every worker, durable in Redis.

A scope ("token", or "channel:<id>") is broken from the first job Slack refused for it until
a check finds it working; its jobs wait in a list, in the order they were held, and go back
onto the slack stream together, in that order, when it is released. Every key shares the
{outbox} tag, so holding and releasing are each one script.

Every process keeps what it last read of the broken scopes (refreshed about every second by
its worker's maintenance loop, and at once by a hold it makes itself): a job for a scope it
knows broken is held without asking Slack, after one look at Redis that it still is, so a
release is never missed. With nothing broken that view is empty and costs nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.domain.jobs import Job
from bot.domain.slack_wiring import CHANNEL_PREFIX, TOKEN
from storage.keys import Keys

# KEYS: broken hash, held list, held counts hash. ARGV: scope, broken json, job json, kind.
# Returns 1 when this hold broke the scope (it was working until now).
_HOLD = """
local first = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
return first
"""

# KEYS: broken hash, held list, held counts hash, slack stream. ARGV: scope.
# The scope works again: every job it held goes back onto the stream, in order.
_RELEASE = """
redis.call('HDEL', KEYS[1], ARGV[1])
local jobs = redis.call('LRANGE', KEYS[2], 0, -1)
for _, job in ipairs(jobs) do
  redis.call('XADD', KEYS[4], '*', 'job', job)
  local ok, decoded = pcall(cjson.decode, job)
  local kind = (ok and type(decoded) == 'table' and decoded['kind']) or '?'
  if redis.call('HINCRBY', KEYS[3], kind, -1) <= 0 then redis.call('HDEL', KEYS[3], kind) end
end
redis.call('DEL', KEYS[2])
return #jobs
"""

# KEYS: next check key. ARGV: now, every. 1 for the one process whose turn it is to check.
_CLAIM_CHECK = """
local due = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) < due then return 0 end
redis.call('SET', KEYS[1], tostring(tonumber(ARGV[1]) + tonumber(ARGV[2])))
return 1
"""


@dataclass(frozen=True)
class Broken:
    """A scope Slack refuses: the error it answered (the latest check's) and since when."""

    scope: str
    error: str
    since: float

    @property
    def channel(self) -> str | None:
        return self.scope.removeprefix(CHANNEL_PREFIX) if self.scope != TOKEN else None


class Holds:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._hold = redis.register_script(_HOLD)
        self._release = redis.register_script(_RELEASE)
        self._claim_check = redis.register_script(_CLAIM_CHECK)
        self._known: dict[str, str] = {}  # this process's view: scope -> error

    # --- the happy path's question ----------------------------------------------------------
    def known(self, channel: str | None) -> tuple[str, str] | None:
        """(scope, error) when this process knows the token, or `channel`, to be broken."""
        if not self._known:
            return None
        for scope in (TOKEN, CHANNEL_PREFIX + channel if channel else None):
            if scope is not None and scope in self._known:
                return scope, self._known[scope]
        return None

    async def still(self, scope: str) -> bool:
        """Redis's word on a scope this process knows broken (a release may have come since)."""
        if await self.redis.hexists(self.keys.broken(), scope):
            return True
        self._known.pop(scope, None)
        return False

    # --- holding and releasing --------------------------------------------------------------
    async def hold(self, scope: str, error: str, job: Job, now: float) -> bool:
        """Keep `job` until `scope` works again; True when this broke the scope."""
        self._known[scope] = error
        broken = json.dumps({"error": error, "since": now})
        keys = [self.keys.broken(), self.keys.held_jobs(scope), self.keys.held_counts()]
        return bool(await self._hold(keys=keys, args=[scope, broken, job.to_json(), job.kind]))

    async def broken(self) -> list[Broken]:
        """Every broken scope, oldest first; refreshes this process's view."""
        raw = await self.redis.hgetall(self.keys.broken())
        found = []
        for scope, value in raw.items():
            detail = json.loads(value)
            found.append(Broken(str(scope), str(detail["error"]), float(detail["since"])))
        self._known = {b.scope: b.error for b in found}
        return sorted(found, key=lambda b: b.since)

    def none_broken(self) -> None:
        """Redis holds no scope broken (a maintenance round's count): this process's view
        agrees, without reading the hash."""
        self._known = {}

    async def still_broken(self, broken: Broken, error: str) -> None:
        """A check found it still broken, maybe for another reason: keep the latest, and since."""
        value = json.dumps({"error": error, "since": broken.since})
        await self.redis.hset(self.keys.broken(), broken.scope, value)

    async def release(self, scope: str) -> int:
        """The scope works again: its jobs go back onto the slack stream in the order they were
        held. Returns how many."""
        self._known.pop(scope, None)
        keys = [
            self.keys.broken(),
            self.keys.held_jobs(scope),
            self.keys.held_counts(),
            self.keys.stream("slack"),
        ]
        return int(await self._release(keys=keys, args=[scope]))

    async def held(self, scope: str) -> list[Job]:
        """The jobs a scope holds, in the order they were held."""
        raw = await self.redis.lrange(self.keys.held_jobs(scope), 0, -1)
        return [Job.from_json(str(job)) for job in raw]

    async def counts(self) -> dict[str, int]:
        """Held jobs by kind."""
        raw = await self.redis.hgetall(self.keys.held_counts())
        return {str(kind): int(count) for kind, count in raw.items() if int(count) > 0}

    # --- the minute's check -----------------------------------------------------------------
    async def claim_check(self, now: float, every: float) -> bool:
        """True for the one process whose turn it is to check the wiring (once per `every`)."""
        return bool(await self._claim_check(keys=[self.keys.wiring_check()], args=[now, every]))

    # --- the owner's alert ------------------------------------------------------------------
    async def alert_state(self) -> dict[str, str]:
        """down_at (the last "Slack is refusing" SMS), outage (which outage it was about), and
        the line and number (from) it went out from."""
        raw = await self.redis.hgetall(self.keys.wiring_alert())
        return {str(k): str(v) for k, v in raw.items()}

    async def alerted_down(self, outage: str, now: float, line: str, number: str) -> None:
        """The owner was texted about `outage` from `number` (line `line`): the recovery
        follows from the same number."""
        await self.redis.hset(
            self.keys.wiring_alert(),
            mapping={"down_at": now, "outage": outage, "line": line, "from": number},
        )

    async def alerted_up(self) -> None:
        """The recovery was told: the outage is over (down_at stays, for once an hour)."""
        await self.redis.hdel(self.keys.wiring_alert(), "outage")
