"""Outbound webhooks' records: each receiver URL's state, the deliveries it gave up on, the
events of a lead waiting for its card, and what event bodies need from Slack (cached).

A URL is named by webhooks.url_key (a hash) in keys and job ids: the URL itself may be a
receiver's only secret.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.domain import webhooks
from bot.domain.jobs import Job
from bot.domain.webhooks import Endpoint
from storage.keys import DAY, Keys
from storage.markers import JOB_DONE_TTL

MAX_FAILED = 10_000  # deliveries kept per URL; the oldest go first
FAILED_TTL = 30 * DAY  # kept deliveries go a month after the last one failed (a URL removed)
NAME_TTL = DAY  # a display name or the workspace URL is asked again after a day
WAIT_TTL = DAY  # a lead's waiting events outlive any wait for its card

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


@dataclass(frozen=True)
class Started:
    first: bool  # this run is the event's first (or a takeover's): it sends
    disabled: frozenset[str]  # the URLs a 410 disabled
    workspace_url: str | None  # cached, for the thread's link


class Webhooks:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._take_hash = redis.register_script(_TAKE_HASH)
        self._take_zset = redis.register_script(_TAKE_ZSET)

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
        return bool(await self.redis.hexists(key, "disabled_at"))

    async def start_event(self, event_job_id: str, urls: list[str], again: bool) -> Started:
        """One round trip before an event is sent: is this its first run (again: send all the
        same), which URLs are disabled, and the cached workspace URL."""
        pipe = self.redis.pipeline(transaction=False)
        marker = self.keys.webhook_event_sent(event_job_id)
        pipe.set(marker, "1", nx=not again, ex=JOB_DONE_TTL)
        for url in urls:
            pipe.hexists(self.keys.webhook(webhooks.url_key(url)), "disabled_at")
        pipe.get(self.keys.slack_workspace())
        first, *disabled, workspace = await pipe.execute()
        return Started(
            first=bool(first),
            disabled=frozenset(url for url, off in zip(urls, disabled, strict=True) if off),
            workspace_url=str(workspace) if workspace else None,
        )

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
        return bool(newly)

    async def enable(self, url: str) -> bool:
        """False when it was not disabled."""
        key = self.keys.webhook(webhooks.url_key(url))
        pipe = self.redis.pipeline(transaction=False)
        pipe.hdel(key, "disabled_at")
        pipe.hset(key, "failing", 0)
        was, _ = await pipe.execute()
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
        if not user_ids:
            return {}
        pipe = self.redis.pipeline(transaction=False)  # one GET each: keys in many slots
        for user_id in user_ids:
            pipe.get(self.keys.slack_user_name(user_id))
        found = await pipe.execute()
        return {u: str(name) for u, name in zip(user_ids, found, strict=True) if name is not None}

    async def remember_user_name(self, user_id: str, name: str) -> None:
        await self.redis.set(self.keys.slack_user_name(user_id), name, ex=NAME_TTL)

    async def workspace_url(self) -> str | None:
        value = await self.redis.get(self.keys.slack_workspace())
        return str(value) if value else None

    async def remember_workspace_url(self, url: str) -> None:
        await self.redis.set(self.keys.slack_workspace(), url, ex=NAME_TTL)
