"""Per-day counters of each line in its own time zone, response times, the weekly digest's turn.

A day is the line's calendar day (YYYY-MM-DD in the line's time zone); the default line keeps
the key names it had before there were several lines (storage/keys.py)."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from storage.keys import DAY, Keys

STATS_TTL = 400 * DAY


class Stats:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def count(self, line: str, day: str, *names: str) -> None:
        pipe = self.redis.pipeline(transaction=False)
        self.count_on(pipe, line, day, *names)
        await pipe.execute()

    def count_on(self, pipe: Pipeline, line: str, day: str, *names: str) -> None:
        """count() as commands on the caller's pipeline."""
        key = self.keys.stats_day(line, day)
        for name in names:
            pipe.hincrby(key, name, 1)
        pipe.expire(key, STATS_TTL)

    async def response_time(self, line: str, day: str, seconds: float) -> None:
        key = self.keys.stats_times(line, day)
        pipe = self.redis.pipeline(transaction=False)
        pipe.rpush(key, f"{seconds:.0f}")
        pipe.expire(key, STATS_TTL)
        await pipe.execute()

    async def days(self, line: str, days: list[str]) -> list[tuple[dict[str, int], list[float]]]:
        pipe = self.redis.pipeline(transaction=False)
        for day in days:
            pipe.hgetall(self.keys.stats_day(line, day))
            pipe.lrange(self.keys.stats_times(line, day), 0, -1)
        replies = await pipe.execute()
        out = []
        for i in range(len(days)):
            counts = {k: int(v) for k, v in replies[2 * i].items()}
            out.append((counts, [float(v) for v in replies[2 * i + 1]]))
        return out

    async def first_for_week(self, line: str, week: str) -> bool:
        key = self.keys.digest(line, week)
        return bool(await self.redis.set(key, "1", nx=True, ex=8 * DAY))
