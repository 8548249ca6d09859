"""Outbound webhooks' records: each receiver URL's state, the deliveries it gave up on, the
events of a lead waiting for its card, and what event bodies need from Slack (cached).

A URL is named by webhooks.url_key (a hash) in keys and job ids: the URL itself may be a
receiver's only secret.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Literal

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.domain import webhooks
from bot.domain.jobs import Job
from bot.domain.leads import LeadRecord
from bot.domain.webhooks import Endpoint
from storage.keys import DAY, Keys
from storage.markers import JOB_DONE_TTL

MAX_FAILED = 10_000  # deliveries kept per URL; the oldest go first
FAILED_TTL = 30 * DAY  # kept deliveries go a month after the last one failed (a URL removed)
NAME_TTL = DAY  # a display name or the workspace URL is asked again after a day
WAIT_TTL = DAY  # a lead's waiting events outlive any wait for its card
# Kept in the process too, so an event costs no round trip for them: a URL's disabled state
# (another process's enable is seen this much later), names and the workspace URL.
DISABLED_MEMO = 2.0
NAME_MEMO = 300.0

# KEYS: lead hash, the event's sent-marker (both in the caller's slot).
# ARGV: again (1: a takeover, send whatever the marker says), may wait (1: an event that waits
# for the lead card, if it is not posted), marker ttl.
# Returns {'dup'} (sent already), {'wait'} (the card is on its way: nothing written),
# {'gone'} (no such lead any more), or {'go', the lead's fields}: the marker set and the lead
# read with its event_version grown, in one step, so a reading with a higher version never
# shows an older state.
_START_LEAD_EVENT = """
if ARGV[1] ~= '1' and redis.call('EXISTS', KEYS[2]) == 1 then return {'dup'} end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
  return {'gone'}
end
if ARGV[2] == '1' then
  local card = redis.call('HMGET', KEYS[1], 'ts', 'card_failed')
  if (not card[1] or card[1] == '') and card[2] ~= '1' then return {'wait'} end
end
redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'event_version', 1)
return {'go', redis.call('HGETALL', KEYS[1])}
"""

# KEYS: one key. Takes everything a hash or a sorted set holds and deletes it, in one step:
# two takers never both get the same entries.
_TAKE_HASH = """
local all = redis.call('HVALS', KEYS[1])
redis.call('DEL', KEYS[1])
return all
"""
_TAKE_ZSET = """
local all = redis.call('ZRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return all
"""


Start = Literal["dup", "wait", "gone", "go"]


class Webhooks:
    def __init__(
        self, redis: Redis, keys: Keys, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.redis = redis
        self.keys = keys
        self._take_hash = redis.register_script(_TAKE_HASH)
        self._take_zset = redis.register_script(_TAKE_ZSET)
        self._start_lead_event = redis.register_script(_START_LEAD_EVENT)
        self._monotonic = monotonic
        self._disabled: dict[str, tuple[float, bool]] = {}  # url -> (until, disabled)
        self._names: dict[str, tuple[float, str]] = {}  # user id -> (until, name)
        self._workspace: tuple[float, str] | None = None

    # --- an event ------------------------------------------------------------------------------
    async def start_lead_event(
        self,
        phone: str,
        lead_id: str,
        event_job_id: str,
        *,
        again: bool,
        may_wait: bool,
    ) -> tuple[Start, LeadRecord | None]:
        """One round trip before an event about a lead is sent (see _START_LEAD_EVENT)."""
        keys = [self.keys.lead(phone, lead_id), self.keys.webhook_event_sent(event_job_id, phone)]
        reply = await self._start_lead_event(keys=keys, args=[int(again), int(may_wait), DAY])
        outcome = str(reply[0])
        if outcome != "go":
            return outcome, None  # type: ignore[return-value]
        raw = reply[1]
        found = dict(raw) if isinstance(raw, dict) else dict(zip(raw[::2], raw[1::2], strict=True))
        fields = {str(k): str(v) for k, v in found.items()}
        return "go", LeadRecord.from_hash(lead_id, fields)

    async def start_event(self, event_job_id: str, *, again: bool) -> bool:
        """An event about no lead: True when this run sends it."""
        marker = self.keys.webhook_event_sent(event_job_id)
        return bool(await self.redis.set(marker, "1", nx=not again, ex=DAY))

    # --- a receiver URL ------------------------------------------------------------------------
    async def endpoint(self, url: str) -> Endpoint:
        name = webhooks.url_key(url)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(self.keys.webhook(name))
        pipe.zcard(self.keys.webhook_failed(name))
        raw, failed = await pipe.execute()
        return Endpoint.from_hash(url, {str(k): str(v) for k, v in dict(raw).items()}, failed)

    async def is_disabled(self, url: str) -> bool:
        key = self.keys.webhook(webhooks.url_key(url))
        disabled = bool(await self.redis.hexists(key, "disabled_at"))
        self._disabled[url] = (self._monotonic() + DISABLED_MEMO, disabled)
        return disabled

    async def disabled(self, urls: list[str]) -> frozenset[str]:
        """The URLs a 410 disabled (as read within DISABLED_MEMO seconds)."""
        now = self._monotonic()
        stale = [url for url in urls if self._disabled.get(url, (0.0, False))[0] <= now]
        if stale:
            pipe = self.redis.pipeline(transaction=False)
            for url in stale:
                pipe.hexists(self.keys.webhook(webhooks.url_key(url)), "disabled_at")
            for url, off in zip(stale, await pipe.execute(), strict=True):
                self._disabled[url] = (now + DISABLED_MEMO, bool(off))
        return frozenset(url for url in urls if self._disabled[url][1])

    async def before_delivery(self, url: str, job_id: str) -> tuple[bool, bool]:
        """(delivered already, URL disabled), in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(self.keys.job(job_id))
        pipe.hexists(self.keys.webhook(webhooks.url_key(url)), "disabled_at")
        marker, disabled = await pipe.execute()
        return marker == "done", bool(disabled)

    async def delivered(self, url: str, job_id: str, now: float) -> None:
        """A 2xx: the delivery is done (a duplicate of its job sends nothing) and the URL well."""
        key = self.keys.webhook(webhooks.url_key(url))
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self.keys.job(job_id), "done", ex=JOB_DONE_TTL)
        pipe.hset(key, mapping={"url": url, "last_success_at": now, "failing": 0})
        pipe.hincrby(key, "delivered", 1)
        await pipe.execute()

    async def attempt_failed(self, url: str, now: float, error: str) -> None:
        key = self.keys.webhook(webhooks.url_key(url))
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(key, mapping={"url": url, "last_error": error[:300], "last_error_at": now})
        pipe.hincrby(key, "failing", 1)
        await pipe.execute()

    async def keep_failed(self, url: str, job: Job, now: float) -> None:
        """A delivery given up on (its last attempt failed, or its URL is disabled): kept, as
        it would run from its first attempt, for `/textback webhook retry`."""
        key = self.keys.webhook_failed(webhooks.url_key(url))
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(key, {replace(job, attempt=0, turn=None).to_json(): now})
        pipe.zremrangebyrank(key, 0, -(MAX_FAILED + 1))
        pipe.expire(key, FAILED_TTL)
        await pipe.execute()

    async def take_failed(self, url: str) -> list[Job]:
        raws = await self._take_zset(keys=[self.keys.webhook_failed(webhooks.url_key(url))])
        return [Job.from_json(str(raw)) for raw in raws]

    async def disable(self, url: str, now: float, reason: str) -> bool:
        """A 410 Gone. False when it was disabled already (so it is told in Slack once)."""
        key = self.keys.webhook(webhooks.url_key(url))
        pipe = self.redis.pipeline(transaction=False)
        pipe.hsetnx(key, "disabled_at", now)
        pipe.hset(key, mapping={"url": url, "last_error": reason, "last_error_at": now})
        newly, _ = await pipe.execute()
        self._disabled[url] = (self._monotonic() + DISABLED_MEMO, True)
        return bool(newly)

    async def enable(self, url: str) -> bool:
        """False when it was not disabled."""
        key = self.keys.webhook(webhooks.url_key(url))
        pipe = self.redis.pipeline(transaction=False)
        pipe.hdel(key, "disabled_at")
        pipe.hset(key, "failing", 0)
        was, _ = await pipe.execute()
        self._disabled.pop(url, None)
        return bool(was)

    # --- a lead's events waiting for its card ----------------------------------------------------
    def wait_for_card(
        self, pipe: Pipeline, phone: str, lead_id: str, event_id: str, job: Job
    ) -> None:
        """Park an event (its timer job) on the lead until the card is posted, on `pipe`."""
        key = self.keys.lead_webhooks_waiting(phone, lead_id)
        pipe.hset(key, event_id, job.to_json())
        pipe.expire(key, WAIT_TTL)

    async def waiting_for_card(self, phone: str, lead_id: str) -> list[Job]:
        """Takes the lead's waiting events (each exactly once, whoever else asks)."""
        raws = await self._take_hash(keys=[self.keys.lead_webhooks_waiting(phone, lead_id)])
        return [Job.from_json(str(raw)) for raw in raws]

    # --- from Slack, cached ----------------------------------------------------------------------
    async def user_names(self, user_ids: list[str]) -> dict[str, str]:
        now = self._monotonic()
        names = {u: memo[1] for u in user_ids if (memo := self._names.get(u)) and memo[0] > now}
        wanted = [u for u in user_ids if u not in names]
        if not wanted:
            return names
        pipe = self.redis.pipeline(transaction=False)  # one GET each: keys in many slots
        for user_id in wanted:
            pipe.get(self.keys.slack_user_name(user_id))
        for user_id, name in zip(wanted, await pipe.execute(), strict=True):
            if name is not None:
                names[user_id] = str(name)
                self._names[user_id] = (now + NAME_MEMO, str(name))
        return names

    async def remember_user_name(self, user_id: str, name: str) -> None:
        self._names[user_id] = (self._monotonic() + NAME_MEMO, name)
        await self.redis.set(self.keys.slack_user_name(user_id), name, ex=NAME_TTL)

    async def workspace_url(self) -> str | None:
        now = self._monotonic()
        if self._workspace is not None and self._workspace[0] > now:
            return self._workspace[1]
        value = await self.redis.get(self.keys.slack_workspace())
        if not value:
            return None
        self._workspace = (now + NAME_MEMO, str(value))
        return str(value)

    async def remember_workspace_url(self, url: str) -> None:
        self._workspace = (self._monotonic() + NAME_MEMO, url)
        await self.redis.set(self.keys.slack_workspace(), url, ex=NAME_TTL)
