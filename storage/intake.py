"""Intake links: which lead a token belongs to, and one-time use of each form load."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.domain.intake import IntakeLink
from storage.keys import DAY, Keys

# KEYS: intake hash, nonce key. ARGV: now, max submissions, nonce ttl.
# "missing" (unknown or expired), "dup" (this form load was already submitted), "limit" (too many
# submissions on this link), else "ok": the nonce is marked and the count raised in one step, so
# two submits racing each other post once.
_SUBMIT = """
local link = redis.call('HMGET', KEYS[1], 'expires_at', 'submissions')
if not link[1] or tonumber(link[1]) <= tonumber(ARGV[1]) then return 'missing' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'dup' end
if tonumber(link[2] or '0') >= tonumber(ARGV[2]) then return 'limit' end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'submissions', 1)
return 'ok'
"""


class IntakeStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._submit = redis.register_script(_SUBMIT)

    def create(
        self,
        pipe: Pipeline,
        token: str,
        *,
        phone: str,
        line: str,
        lead_id: str,
        expires_at: float,
        now: float,
    ) -> None:
        """The link joins the caller's pipeline (before the text with the link is queued on it)
        and exists once its owner executes it."""
        fields: dict[str, str | float] = {
            "phone": phone,
            "line": line,
            "lead_id": lead_id,
            "expires_at": expires_at,
        }
        # Redis forgets it a day after it expires; the expiry itself is checked against our clock.
        ttl = max(1, int(expires_at - now)) + DAY
        key = self.keys.intake(token)
        pairs = [item for pair in fields.items() for item in pair]
        # No script in a pipeline (on a cluster it would not be loaded first): the expiry
        # follows the fields in the same write.
        pipe.hset(key, items=pairs)
        pipe.expire(key, ttl)

    async def find(self, token: str, now: float) -> IntakeLink | None:
        """The link, or None when unknown or expired."""
        values: dict[str, str] = await self.redis.hgetall(self.keys.intake(token))  # type: ignore[assignment]
        if not values or float(values.get("expires_at", 0)) <= now:
            return None
        return IntakeLink(
            token=token,
            phone=values["phone"],
            line=values["line"],
            lead_id=values["lead_id"],
            expires_at=float(values["expires_at"]),
            submissions=int(values.get("submissions", 0)),
        )

    async def from_address(self, address: str, now: float) -> int:
        """Count one more form from `address` this hour; returns the hour's count so far."""
        key = self.keys.intake_address(address, int(now // 3600))
        pipe = self.redis.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 2 * 3600)
        count, _ = await pipe.execute()
        return int(count)

    async def claim_submission(self, token: str, nonce: str, now: float, limit: int) -> str:
        keys = [self.keys.intake(token), self.keys.intake_nonce(token, nonce)]
        return str(await self._submit(keys=keys, args=[now, limit, 30 * DAY]))
