"""Pacing schedules shared by every worker: one per Slack channel (posts) and per lane of card
updates, so all processes together stay under Slack's limits, and a 429 holds them all."""

from __future__ import annotations

from redis.asyncio import Redis

from storage.keys import Keys

# KEYS: pace key. ARGV: now, interval, burst. Returns seconds to wait before posting.
_PACE = """
local now, interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local next_at = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(next_at, now - (burst - 1) * interval)
local ttl_ms = math.max(0, math.ceil((slot + interval - now) * 1000)) + 1000
redis.call('SET', KEYS[1], tostring(slot + interval), 'PX', ttl_ms)
return tostring(math.max(0, slot - now))
"""

# KEYS: pace key. ARGV: until (epoch s), seconds. Slack said 429: no post to the channel until then.
_HOLD = """
local next_at = tonumber(redis.call('GET', KEYS[1]) or '0')
local hold_until = tonumber(ARGV[1])  -- 'until' is a Lua keyword
if hold_until > next_at then
  redis.call('SET', KEYS[1], tostring(hold_until), 'PX', math.ceil(ARGV[2] * 1000) + 1000)
end
return 1
"""


class Pacing:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.keys = keys
        self._pace = redis.register_script(_PACE)
        self._hold = redis.register_script(_HOLD)
        # Schedule -> until when a 429 holds it, as seen by this process: posts that took their
        # slot before the 429 check this after waiting for it.
        self._held: dict[str, float] = {}

    async def turn(self, schedule: str, now: float, per_second: float, burst: int = 1) -> float:
        """Seconds to wait before the next post on this schedule, shared by every worker.

        No burst by default: Slack tolerates "short bursts" of an unstated size, and a 429 costs
        more (a Retry-After of a second or more) than evenly spaced posts do."""
        # 5% under the limit: posts leave on schedule but reach Slack with some jitter (a
        # post that took its slot before a 429 still waits out the Retry-After: see held()).
        interval = 1.05 / per_second
        wait = await self._pace(keys=[self.keys.pace(schedule)], args=[now, interval, burst])
        return float(wait)

    async def hold(self, schedule: str, until: float, seconds: float) -> None:
        """Slack answered 429: no worker posts on the schedule for `seconds` (until `until`)."""
        self._held[schedule] = max(until, self._held.get(schedule, 0.0))
        await self._hold(keys=[self.keys.pace(schedule)], args=[until, seconds])

    def held(self, schedule: str, now: float) -> float:
        """Seconds this process knows the schedule is still held for after a 429 (else 0)."""
        until = self._held.get(schedule)
        if until is None:
            return 0.0
        if until <= now:
            del self._held[schedule]
            return 0.0
        return until - now
