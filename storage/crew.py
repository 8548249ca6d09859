"""The crew's own phones, registered per Slack user for call backs (`/textback me phone`)."""

from __future__ import annotations

from redis.asyncio import Redis

from storage.keys import Keys


class CrewPhones:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def phone(self, user_id: str) -> str | None:
        value = await self.redis.get(self.keys.crew_phone(user_id))
        return str(value) if value else None

    async def register(self, user_id: str, phone: str) -> str | None:
        """Keep `phone` (E.164) for `user_id`; returns the one it replaces, if any."""
        previous = await self.redis.set(self.keys.crew_phone(user_id), phone, get=True)
        return str(previous) if previous else None

    async def forget(self, user_id: str) -> str | None:
        """Remove the user's phone; returns it, or None when none was registered."""
        previous = await self.redis.getdel(self.keys.crew_phone(user_id))
        return str(previous) if previous else None
