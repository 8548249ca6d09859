"""Call backs from Slack: one record per tap (what its Twilio webhooks look up), and the hold
that keeps two taps from ringing the same caller twice."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.domain.call_backs import RECORD_SECONDS, CallBack
from storage.keys import Keys

# KEYS: the hold. ARGV: user. Release it only if it is still that user's.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class CallBacks:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._release = redis.register_script(_RELEASE)

    async def hold(self, phone: str, user: str, seconds: int) -> str | None:
        """Take the caller for `user`'s call back; None when taken, else who already holds it
        (the same user for a second tap)."""
        previous = await self.redis.set(
            self.keys.call_back_hold(phone), user, nx=True, ex=seconds, get=True
        )
        return str(previous) if previous else None

    async def keep_holding(self, phone: str, user: str, seconds: int) -> None:
        """The call connected: the hold lasts until it ends (or `seconds`)."""
        await self.redis.set(self.keys.call_back_hold(phone), user, ex=seconds)

    async def release(self, phone: str, user: str) -> None:
        await self._release(keys=[self.keys.call_back_hold(phone)], args=[user])

    async def create(self, call_back: CallBack) -> None:
        key = self.keys.call_back(call_back.id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(key, mapping=call_back.to_hash())  # type: ignore[arg-type]
        pipe.expire(key, RECORD_SECONDS)
        await pipe.execute()

    async def get(self, call_back_id: str) -> CallBack | None:
        found = await self.redis.hgetall(self.keys.call_back(call_back_id))
        if "phone" not in found:
            return None
        return CallBack.from_hash(call_back_id, {str(k): str(v) for k, v in found.items()})

    async def pressed(self, call_back_id: str) -> CallBack | None:
        """A key was pressed on the crew member's phone: the caller is being dialled."""
        key = self.keys.call_back(call_back_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(key, "pressed", "1")
        pipe.hgetall(key)
        _, found = await pipe.execute()
        if "phone" not in found:
            await self.redis.delete(key)  # a stale or forged id: leave nothing behind
            return None
        return CallBack.from_hash(call_back_id, {str(k): str(v) for k, v in found.items()})

    async def report_once(self, call_back_id: str) -> bool:
        """True the first time the call's outcome is told in the thread (Twilio may repeat a
        callback, and both the dial's action and the call's status may try to tell it)."""
        return bool(await self.redis.hsetnx(self.keys.call_back(call_back_id), "reported", "1"))
