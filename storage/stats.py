"""Per-day counters in the business time zone, response times, and the weekly digest's turn."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from storage.keys import DAY, Keys

STATS_TTL = 400 * DAY


class Stats:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def count(self, day: str, *names: str) -> None:
        pipe = self.redis.pipeline(transaction=False)
        self.count_on(pipe, day, *names)
        await pipe.execute()

    def count_on(self, pipe: Pipeline, day: str, *names: str) -> None:
        """count() as commands on the caller's pipeline."""
        key = self.keys.stats_day(day)
        for name in names:
            pipe.hincrby(key, name, 1)
        pipe.expire(key, STATS_TTL)

    async def response_time(self, day: str, seconds: float) -> None:
        key = self.keys.stats_times(day)
        pipe = self.redis.pipeline(transaction=False)
        pipe.rpush(key, f"{seconds:.0f}")
        pipe.expire(key, STATS_TTL)
        await pipe.execute()

    async def days(self, days: list[str]) -> list[tuple[dict[str, int], list[float]]]:
        pipe = self.redis.pipeline(transaction=False)
        for day in days:
            pipe.hgetall(self.keys.stats_day(day))
            pipe.lrange(self.keys.stats_times(day), 0, -1)
        replies = await pipe.execute()
        out = []
        for i in range(len(days)):
            counts = {k: int(v) for k, v in replies[2 * i].items()}
            out.append((counts, [float(v) for v in replies[2 * i + 1]]))
        return out

    async def first_for_week(self, week: str) -> bool:
        return bool(await self.redis.set(self.keys.digest(week), "1", nx=True, ex=8 * DAY))
