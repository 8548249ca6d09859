"""Small records about the service itself: the last error, Slack's retried events, business
numbers Twilio sent us that no line lists, and the doctor's last wiring report."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.domain.phone import redact_numbers
from storage.keys import DAY, Keys


class ServiceRecords:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def last_error(self) -> str | None:
        value = await self.redis.get(self.keys.last_error())
        return value if isinstance(value, str) else None

    async def note_error(self, text: str) -> None:
        """Shown by /textback status: an error text may quote a caller's number, masked here."""
        await self.redis.set(self.keys.last_error(), redact_numbers(text), ex=30 * DAY)

    async def first_slack_event(self, event_id: str) -> bool:
        """Slack retries events it thinks we missed; Bolt doesn't dedupe them, so we do."""
        return bool(await self.redis.set(self.keys.slack_event(event_id), "1", nx=True, ex=DAY))

    async def forget_slack_event(self, event_id: str) -> None:
        """We did not store it after all (a 5xx): Slack's retry gets another chance."""
        await self.redis.delete(self.keys.slack_event(event_id))

    async def unlisted_number(self, number: str, now: float) -> None:
        """A call or text to a number no line lists (and no catch-all took it)."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(self.keys.unlisted_numbers(), {number: now})
        pipe.zremrangebyscore(self.keys.unlisted_numbers(), "-inf", now - 30 * DAY)
        await pipe.execute()

    async def unlisted_numbers(self) -> list[tuple[str, float]]:
        """Numbers no line lists that called or texted in the last 30 days: (number, last seen)."""
        found: list[tuple[str, float]] = await self.redis.zrange(  # type: ignore[assignment]
            self.keys.unlisted_numbers(), 0, -1, withscores=True
        )
        return [(str(number), float(at)) for number, at in found]

    async def wiring_report(self) -> tuple[float, str] | None:
        """(when it was made, the report) or None."""
        at, report = await self.redis.hmget(self.keys.wiring_report(), ["at", "report"])
        if at is None or report is None:
            return None
        return float(at), str(report)

    async def save_wiring_report(self, report: str, at: float) -> None:
        key = self.keys.wiring_report()
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(key, mapping={"at": at, "report": report})
        pipe.expire(key, DAY)
        await pipe.execute()
