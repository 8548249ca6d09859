"""The durable outbox: one Redis stream per queue, read by a consumer group.

A job stays pending in the group until a worker acknowledges it, so a worker killed mid-job leaves
it for another to reclaim. Retries wait in a sorted set and go back onto the stream when due.
SMS, Slack and webhooks have separate queues so texts never wait behind a slow or rate-limited
Slack, and neither waits behind a slow webhook receiver.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ResponseError
from redis.typing import StreamIdT

from bot.domain.jobs import QUEUES, Job, Queue
from storage.keys import Keys

log = logging.getLogger(__name__)

GROUP = "workers"

# KEYS: retry zset, stream. ARGV: now, limit. Moves due jobs back onto the stream atomically.
_PROMOTE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, job in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'job', job)
  redis.call('ZREM', KEYS[1], job)
end
return #due
"""


@dataclass(frozen=True)
class Delivery:
    """A job as read from the stream; ack it with its message id."""

    queue: Queue
    message_id: str
    job: Job | None  # None when the stream entry could not be read as a job
    raw: str
    reclaimed: bool = False  # taken over from a worker that held it too long (presumed dead)


class Outbox:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._promote = redis.register_script(_PROMOTE_DUE)

    async def ensure_groups(self) -> None:
        for queue in QUEUES:
            try:
                await self.redis.xgroup_create(
                    self.keys.stream(queue), GROUP, id="0", mkstream=True
                )
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    async def enqueue(self, jobs: Iterable[Job], claim_key: str | None = None) -> None:
        """Queue the jobs; with claim_key, also note on that claim that its jobs are queued, so a
        redelivered webhook knows not to queue them again (same round trip)."""
        pipe = self.redis.pipeline(transaction=False)
        self.add(pipe, jobs, claim_key)
        await pipe.execute()

    def add(self, pipe: Pipeline, jobs: Iterable[Job], claim_key: str | None = None) -> None:
        """enqueue() as commands on the caller's pipeline, sent with whatever else it holds."""
        for job in jobs:
            pipe.xadd(self.keys.stream(job.queue), {"job": job.to_json()})
        if claim_key is not None:
            pipe.hset(claim_key, "enqueued", "1")

    def add_later(self, pipe: Pipeline, job: Job, due: float) -> None:
        """retry_later() on the caller's pipeline."""
        pipe.zadd(self.keys.retry(job.queue), {job.to_json(): due})

    def add_instead_of_later(self, pipe: Pipeline, job: Job) -> None:
        """Queue now a job that add_later() scheduled. Queued before the timer is dropped: a
        connection lost in between leaves both (a duplicate the job's marker absorbs), never
        neither."""
        self.add(pipe, [job])
        pipe.zrem(self.keys.retry(job.queue), job.to_json())

    async def retry_later(self, job: Job, due: float) -> None:
        await self.redis.zadd(self.keys.retry(job.queue), {job.to_json(): due})

    async def cancel_retry(self, job: Job) -> None:
        """Drop a scheduled job (as scheduled, attempt included) that is no longer needed."""
        await self.redis.zrem(self.keys.retry(job.queue), job.to_json())

    async def promote_due(self, queue: Queue, now: float, limit: int = 500) -> int:
        keys = [self.keys.retry(queue), self.keys.stream(queue)]
        return int(await self._promote(keys=keys, args=[now, limit]))

    async def read(self, queue: Queue, consumer: str, count: int, block_ms: int) -> list[Delivery]:
        stream = self.keys.stream(queue)
        reply = await self.redis.xreadgroup(
            GROUP, consumer, {stream: ">"}, count=count, block=block_ms
        )
        return [self._delivery(queue, mid, fields) for mid, fields in _entries(reply, stream)]

    async def reclaim(
        self, queue: Queue, consumer: str, min_idle_ms: int, count: int = 100
    ) -> list[Delivery]:
        """Jobs another worker took but never acknowledged (it crashed or hung)."""
        reply = await self.redis.xautoclaim(
            self.keys.stream(queue), GROUP, consumer, min_idle_ms, start_id="0-0", count=count
        )
        claimed = reply[1] if reply else []
        return [
            replace(self._delivery(queue, mid, fields), reclaimed=True)
            for mid, fields in claimed
            if fields
        ]

    async def renew(self, queue: Queue, consumer: str, message_ids: list[str]) -> None:
        """Reset the idle time of entries this consumer still works on (a heartbeat), so no
        other worker reclaims a job that is only slow (paced, waiting for a slot)."""
        if message_ids:
            ids: list[StreamIdT] = list(message_ids)
            await self.redis.xclaim(self.keys.stream(queue), GROUP, consumer, 0, ids, justid=True)

    async def ack(self, delivery: Delivery) -> None:
        stream = self.keys.stream(delivery.queue)
        pipe = self.redis.pipeline(transaction=False)
        pipe.xack(stream, GROUP, delivery.message_id)
        pipe.xdel(stream, delivery.message_id)  # acknowledged entries are history we don't need
        await pipe.execute()

    async def bury(self, delivery: Delivery, reason: str) -> None:
        """A job that can never succeed: keep it for a person to look at, then let it go."""
        log.error("job buried queue=%s reason=%s", delivery.queue, reason)
        await self.redis.lpush(self.keys.dead(), delivery.raw)
        await self.redis.ltrim(self.keys.dead(), 0, 9_999)
        await self.ack(delivery)

    async def depth(self) -> dict[str, int]:
        pipe = self.redis.pipeline(transaction=False)
        for queue in QUEUES:
            pipe.xlen(self.keys.stream(queue))
            pipe.zcard(self.keys.retry(queue))
        counts = await pipe.execute()
        return {queue: counts[2 * i] + counts[2 * i + 1] for i, queue in enumerate(QUEUES)}

    def _delivery(self, queue: Queue, message_id: str, fields: dict[str, str]) -> Delivery:
        raw = fields.get("job", "")
        try:
            job: Job | None = Job.from_json(raw)
        except (ValueError, KeyError, TypeError):
            job = None
        return Delivery(queue=queue, message_id=message_id, job=job, raw=raw)


def _entries(reply: object, stream: str) -> list[tuple[str, dict[str, str]]]:
    """XREADGROUP answers a dict under RESP3 and a list of pairs under RESP2."""
    if not reply:
        return []
    if isinstance(reply, dict):
        batches = reply.get(stream) or []
        return list(batches[0]) if batches and isinstance(batches[0], list) else list(batches)
    for name, entries in reply:  # type: ignore[attr-defined]
        if name == stream:
            return list(entries)
    return []
