"""Settings changed from Slack, per line, in one Redis hash that every process reads.

The hash only holds what someone changed; everything else stays the environment's default.
Fields: template:<kind> and template:<kind>:version, hours, timezone, window_hours,
paused_until (epoch seconds; "inf" until resumed), oncall (a Slack user id per weekday,
comma-separated, Monday first), closed:<date or range> (its note, possibly empty).
"""

from __future__ import annotations

from collections.abc import Mapping

from redis.asyncio import Redis

from bot.domain.overrides import CLOSED
from storage.keys import Keys

# How long a role Slack gave (users.list ahead, or users.info) is trusted: the web process lists
# the members every 10 minutes (handlers/slack/roles.py), so this outlives a few failed rounds.
ROLE_CACHE_SECONDS = 3600

# KEYS: config hash. ARGV: kind, text, "set" or "reset" (back to the default). Returns the
# template's new version: text and version change in one step, so the version a ledger entry
# names is that text's (Lua rather than MULTI: the same on a cluster as on one server).
_SET_TEMPLATE = """
local field = 'template:' .. ARGV[1]
if ARGV[3] == 'reset' then redis.call('HDEL', KEYS[1], field)
else redis.call('HSET', KEYS[1], field, ARGV[2]) end
return redis.call('HINCRBY', KEYS[1], field .. ':version', 1)
"""


class LineConfig:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._set_template = redis.register_script(_SET_TEMPLATE)

    async def overrides(self, line: str) -> dict[str, str]:
        return await self.redis.hgetall(self.keys.line_config(line))  # type: ignore[return-value]

    # --- templates --------------------------------------------------------------------------
    async def set_template(self, line: str, kind: str, text: str) -> int:
        """Store the template; returns its new version (1, 2, ...)."""
        keys = [self.keys.line_config(line)]
        return int(await self._set_template(keys=keys, args=[kind, text, "set"]))

    async def reset_template(self, line: str, kind: str) -> int:
        """Back to the default text; the version still moves on, so the ledger tells them apart."""
        keys = [self.keys.line_config(line)]
        return int(await self._set_template(keys=keys, args=[kind, "", "reset"]))

    # --- hours, window, pause ---------------------------------------------------------------
    async def set_hours(self, line: str, hours: str, timezone: str) -> None:
        await self.redis.hset(
            self.keys.line_config(line), mapping={"hours": hours, "timezone": timezone}
        )

    async def set_window(self, line: str, hours: float) -> None:
        await self.redis.hset(self.keys.line_config(line), "window_hours", repr(hours))

    async def pause(self, line: str, until: float) -> None:
        """Until `until` (epoch seconds), or float('inf') until someone resumes."""
        await self.redis.hset(self.keys.line_config(line), "paused_until", repr(until))

    async def resume(self, line: str) -> bool:
        return bool(await self.redis.hdel(self.keys.line_config(line), "paused_until"))

    # --- on call, closed days --------------------------------------------------------------
    async def set_on_call(self, line: str, rota: str) -> None:
        await self.redis.hset(self.keys.line_config(line), "oncall", rota)

    async def clear_on_call(self, line: str) -> bool:
        return bool(await self.redis.hdel(self.keys.line_config(line), "oncall"))

    async def add_closed(self, line: str, days: str, note: str) -> bool:
        """False when these days were already closed (their note is replaced)."""
        return bool(await self.redis.hset(self.keys.line_config(line), f"{CLOSED}{days}", note))

    async def remove_closed(self, line: str, days: list[str]) -> int:
        if not days:
            return 0
        fields = [f"{CLOSED}{each}" for each in days]
        return int(await self.redis.hdel(self.keys.line_config(line), *fields))

    # --- who may use /textback, and change settings -------------------------------------------
    async def cached_role(self, user_id: str) -> str | None:
        """admin, member or guest, as Slack said within ROLE_CACHE_SECONDS; None if unknown."""
        value = await self.redis.get(self.keys.slack_admin(user_id))
        if value is None:
            return None
        return {"1": "admin", "0": "member"}.get(str(value), str(value))  # "1"/"0": before roles

    async def remember_roles(self, roles: Mapping[str, str]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for user_id, role in roles.items():
            pipe.set(self.keys.slack_admin(user_id), role, ex=ROLE_CACHE_SECONDS)
        await pipe.execute()

    async def claim_sweep(self, every: float) -> bool:
        """True for the one process that lists the workspace's members this round."""
        ttl = max(1, int(every) - 5)
        return bool(await self.redis.set(self.keys.roles_sweep(), "1", nx=True, ex=ttl))

    async def forget_sweep(self) -> None:
        """The round's list failed: the next try may come from any process."""
        await self.redis.delete(self.keys.roles_sweep())

    async def swept(self, outcome: str) -> None:
        """How the latest list of members went ("ok", or "failed: ..."): /textback status."""
        await self.redis.set(self.keys.roles_swept(), outcome, ex=ROLE_CACHE_SECONDS)

    async def last_sweep(self) -> str | None:
        value = await self.redis.get(self.keys.roles_swept())
        return str(value) if value is not None else None
