"""The durable outbox: one Redis stream per queue, read by a consumer group.

A job stays pending in the group until a worker acknowledges it, so a worker killed mid-job leaves
it for another to reclaim. Retries wait in a sorted set and go back onto the stream when due.
SMS, Slack and webhooks have separate queues so texts never wait behind a slow or rate-limited
Slack, and neither waits behind a slow webhook receiver.

A job that can never succeed is buried: kept in the dead list (newest first, the last
DEAD_KEPT) with when, why and its kind, counted by kind, until `python -m bot outbox dead
--retry` puts it back on its queue. A webhook delivery is never buried: it is kept as failed
with its URL (storage/webhooks.py) for `/textback webhook retry`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ResponseError
from redis.typing import StreamIdT

from bot.domain.jobs import QUEUES, Job, Queue
from bot.domain.phone import redact_numbers
from storage.keys import Keys

log = logging.getLogger(__name__)

GROUP = "workers"
DEAD_KEPT = 10_000

# KEYS: dead list, dead counts hash. ARGV: entry json, kind, kept. The entry goes first; past
# `kept`, the oldest goes, and its kind's count with it.
_BURY = """
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
while redis.call('LLEN', KEYS[1]) > tonumber(ARGV[3]) do
  local oldest = redis.call('RPOP', KEYS[1])
  local ok, entry = pcall(cjson.decode, oldest)
  local kind = (ok and type(entry) == 'table' and entry['kind']) or '?'
  if redis.call('HINCRBY', KEYS[2], kind, -1) <= 0 then redis.call('HDEL', KEYS[2], kind) end
end
return 1
"""

# KEYS: dead list, dead counts hash. ARGV: entry json, kind ('' for an entry from before the
# counts, which none holds). Takes one entry out (it was put back on its queue); 1 if it was there.
_UNBURY = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
if ARGV[2] ~= '' and redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[2])
end
return 1
"""

# KEYS: retry zset, stream. ARGV: now, limit. Moves due jobs back onto the stream atomically.
_PROMOTE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, job in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'job', job)
  redis.call('ZREM', KEYS[1], job)
end
return #due
"""

# KEYS: each queue's retry set and stream (pairs, in QUEUES order), then the slack-broken hash.
# ARGV: now, limit per queue, group, '1' to count pending entries. A maintenance round in one
# step (all in the {outbox} slot): moves due jobs back onto the streams, and answers how many,
# when the next is due (the lowest score left, '' when none; as a string, since Lua would cut a
# number to an integer), how many Slack scopes are held broken, and when asked, each stream's
# entries read and not yet acknowledged (0 when not asked).
_MAINTAIN = """
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local promoted, next_due, pending = 0, '', {}
for q = 1, (#KEYS - 1) / 2 do
  local retry, stream = KEYS[2 * q - 1], KEYS[2 * q]
  local due = redis.call('ZRANGEBYSCORE', retry, '-inf', now, 'LIMIT', 0, limit)
  for _, job in ipairs(due) do
    redis.call('XADD', stream, '*', 'job', job)
    redis.call('ZREM', retry, job)
  end
  promoted = promoted + #due
  local first = redis.call('ZRANGE', retry, 0, 0, 'WITHSCORES')
  if first[2] and (next_due == '' or tonumber(first[2]) < tonumber(next_due)) then
    next_due = first[2]
  end
  pending[q] = 0
  if ARGV[4] == '1' then
    local summary = redis.pcall('XPENDING', stream, ARGV[3])  -- an error: no group yet
    pending[q] = (type(summary) == 'table' and not summary.err and summary[1]) or 0
  end
end
return {promoted, next_due, redis.call('HLEN', KEYS[#KEYS]), unpack(pending)}
"""


@dataclass(frozen=True)
class Round:
    """What a maintenance round found (Outbox.maintain)."""

    promoted: int  # due jobs moved back onto their streams
    next_due: float | None  # when the earliest job still waiting is due, any queue
    broken: int  # Slack scopes held broken (storage/holds.py)
    pending: dict[Queue, int]  # entries read by some worker and not yet acknowledged (if asked)


# A job held back for an undo window (a crew reply): it waits in the sms retry set like any job
# due later, and a record under its Slack message says which member it is, so an edit can
# replace it and a deletion drop it. All in the {outbox} slot: the promotion (_PROMOTE_DUE) and
# each of these are atomic against each other, so a change either lands before the job leaves
# the set or finds it gone ("gone": the window closed, the text is going or went).
CANCELLED = "cancelled"

# KEYS: held record, sms retry set, slack stream. ARGV: job, due, ttl, slack jobs to queue with it.
_HOLD = """
local held = redis.call('GET', KEYS[1])
if held then return held == 'cancelled' and 'cancelled' or 'exists' end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
for i = 4, #ARGV do redis.call('XADD', KEYS[3], '*', 'job', ARGV[i]) end
return 'held'
"""

# KEYS: held record, sms retry set, slack stream. ARGV: how ('edit': the job becomes ARGV[2];
# 'cancel'; 'delete': a cancel that, with nothing held yet, leaves "cancelled" behind for the
# reply's own event, should it come later), replacement job, ttl, slack jobs to queue if it
# applied. Returns changed, cancelled, gone, unknown (nothing held), or closed (cancelled before).
_CHANGE_HELD = """
local held = redis.call('GET', KEYS[1])
if not held then
  if ARGV[1] == 'delete' then redis.call('SET', KEYS[1], 'cancelled', 'EX', ARGV[3]) end
  return 'unknown'
end
if held == 'cancelled' then return 'closed' end
local due = redis.call('ZSCORE', KEYS[2], held)
if not due then return 'gone' end
redis.call('ZREM', KEYS[2], held)
local result = 'cancelled'
if ARGV[1] == 'edit' then
  redis.call('ZADD', KEYS[2], due, ARGV[2])
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  result = 'changed'
else
  redis.call('SET', KEYS[1], 'cancelled', 'EX', ARGV[3])
end
for i = 4, #ARGV do redis.call('XADD', KEYS[3], '*', 'job', ARGV[i]) end
return result
"""

# KEYS: held record, sms retry set. 1 while the job is still held (its window open).
_IS_HELD = """
local held = redis.call('GET', KEYS[1])
if (not held) or held == 'cancelled' then return 0 end
return redis.call('ZSCORE', KEYS[2], held) and 1 or 0
"""


@dataclass(frozen=True)
class Delivery:
    """A job as read from the stream; ack it with its message id."""

    queue: Queue
    message_id: str
    job: Job | None  # None when the stream entry could not be read as a job
    raw: str
    reclaimed: bool = False  # taken over from a worker that held it too long (presumed dead)


@dataclass(frozen=True)
class DeadJob:
    """A buried job as the dead list keeps it."""

    at: float  # when it was buried (0: buried by a release that kept only the job)
    queue: str
    kind: str
    reason: str
    raw: str  # the job as it was queued
    entry: str  # the list entry itself, to take it out again

    @property
    def job(self) -> Job | None:
        try:
            return Job.from_json(self.raw)
        except (ValueError, KeyError, TypeError):
            return None


class Outbox:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._watchers: list[Callable[[float], None]] = []
        self._promote = redis.register_script(_PROMOTE_DUE)
        self._maintain = redis.register_script(_MAINTAIN)
        self._hold = redis.register_script(_HOLD)
        self._change_held = redis.register_script(_CHANGE_HELD)
        self._is_held = redis.register_script(_IS_HELD)
        self._bury = redis.register_script(_BURY)
        self._unbury = redis.register_script(_UNBURY)

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
        self.scheduled(due)  # before it is sent: a worker that looks too soon looks again then

    def add_instead_of_later(self, pipe: Pipeline, job: Job) -> None:
        """Queue now a job that add_later() scheduled. Queued before the timer is dropped: a
        connection lost in between leaves both (a duplicate the job's marker absorbs), never
        neither."""
        self.add(pipe, [job])
        pipe.zrem(self.keys.retry(job.queue), job.to_json())

    async def retry_later(self, job: Job, due: float) -> None:
        await self.redis.zadd(self.keys.retry(job.queue), {job.to_json(): due})
        self.scheduled(due)

    # --- this process's workers hear of what it schedules -------------------------------------
    def watch_schedule(self, callback: Callable[[float], None]) -> None:
        """Call `callback(due)` whenever this process schedules a job for later: its workers
        then look at the retry sets by then, not only at their idle round."""
        self._watchers.append(callback)

    def unwatch_schedule(self, callback: Callable[[float], None]) -> None:
        if callback in self._watchers:
            self._watchers.remove(callback)

    def scheduled(self, due: float) -> None:
        """A job is (or, on a pipeline about to be sent, will be) due at `due`."""
        for callback in self._watchers:
            callback(due)

    async def cancel_retry(self, job: Job) -> None:
        """Drop a scheduled job (as scheduled, attempt included) that is no longer needed."""
        await self.redis.zrem(self.keys.retry(job.queue), job.to_json())

    # --- held jobs: a crew reply's undo window ------------------------------------------------
    async def hold(
        self, channel: str, ts: str, job: Job, due: float, ttl: float, with_it: Iterable[Job] = ()
    ) -> str:
        """Hold an sms job until `due`, under the Slack message (channel, ts) it came from, and
        queue `with_it` (slack jobs: the ⏳) in the same step. "held"; "exists" (held already:
        a redelivery, or its edit came first); "cancelled" (deleted before it came)."""
        keys = [self.keys.held(channel, ts), self.keys.retry(job.queue), self.keys.stream("slack")]
        args: list[str | float] = [job.to_json(), due, int(ttl) + 1]
        args.extend(j.to_json() for j in with_it)
        held = str(await self._hold(keys=keys, args=args))
        self.scheduled(due)
        return held

    async def change_held(
        self,
        channel: str,
        ts: str,
        how: str,
        ttl: float,
        replacement: Job | None = None,
        with_it: Iterable[Job] = (),
    ) -> str:
        """how: "edit" (the held job becomes `replacement`, due when it was), "cancel", or
        "delete" (a cancel that also stops a hold still to come). Queues `with_it` (slack jobs)
        when it applied. Returns changed, cancelled, gone (the window closed), unknown, closed."""
        keys = [
            self.keys.held(channel, ts),
            self.keys.retry("sms"),
            self.keys.stream("slack"),
        ]
        job = replacement.to_json() if replacement is not None else ""
        args: list[str | int] = [how, job, int(ttl) + 1]
        args.extend(j.to_json() for j in with_it)
        return str(await self._change_held(keys=keys, args=args))

    async def is_held(self, channel: str, ts: str) -> bool:
        """The Slack message's text still waits out its undo window."""
        keys = [self.keys.held(channel, ts), self.keys.retry("sms")]
        return bool(await self._is_held(keys=keys))

    async def promote_due(self, queue: Queue, now: float, limit: int = 500) -> int:
        keys = [self.keys.retry(queue), self.keys.stream(queue)]
        return int(await self._promote(keys=keys, args=[now, limit]))

    async def maintain(self, now: float, pending: bool = False, limit: int = 500) -> Round:
        """One maintenance round's Redis work in one command (_MAINTAIN); `pending`: count
        each stream's pending entries too."""
        keys = [
            key for queue in QUEUES for key in (self.keys.retry(queue), self.keys.stream(queue))
        ]
        keys.append(self.keys.broken())
        reply = await self._maintain(keys=keys, args=[now, limit, GROUP, int(pending)])
        promoted, next_due, broken, *pending_counts = reply
        return Round(
            promoted=int(promoted),
            next_due=float(next_due) if next_due else None,
            broken=int(broken),
            pending={q: int(count) for q, count in zip(QUEUES, pending_counts, strict=True)},
        )

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

    async def bury(self, delivery: Delivery, reason: str, now: float) -> None:
        """A job that can never succeed: keep it for a person to look at, then let it go."""
        reason = redact_numbers(reason)  # error texts may quote a caller's number
        kind = delivery.job.kind if delivery.job else "unreadable"
        job_id = redact_numbers(delivery.job.id) if delivery.job else "-"
        log.error(
            "job buried queue=%s kind=%s id=%s reason=%s", delivery.queue, kind, job_id, reason
        )
        entry = {"at": now, "queue": delivery.queue, "kind": kind, "reason": reason}
        entry["job"] = delivery.raw
        keys = [self.keys.dead(), self.keys.dead_counts()]
        await self._bury(keys=keys, args=[json.dumps(entry), kind, DEAD_KEPT])
        await self.ack(delivery)

    async def count_given_up(self, kind: str) -> None:
        await self.redis.hincrby(self.keys.given_up(), kind, 1)

    async def given_up_counts(self) -> dict[str, int]:
        """Jobs given up on after their last retry, ever, by kind."""
        counts = await self.redis.hgetall(self.keys.given_up())
        return {str(kind): int(count) for kind, count in counts.items()}

    async def dead(self, limit: int = DEAD_KEPT) -> list[DeadJob]:
        """Buried jobs, newest first."""
        entries = await self.redis.lrange(self.keys.dead(), 0, limit - 1)
        return [_dead_job(str(entry)) for entry in entries]

    async def dead_counts(self) -> dict[str, int]:
        """Buried jobs by kind."""
        counts = await self.redis.hgetall(self.keys.dead_counts())
        return {str(kind): int(count) for kind, count in counts.items() if int(count) > 0}

    async def requeue_dead(self, dead: DeadJob) -> bool:
        """Put a buried job back on its queue as new (attempts from 0); False when it can't be
        read (kept as it is) or another requeue took it first."""
        job = dead.job
        if job is None:
            return False
        keys = [self.keys.dead(), self.keys.dead_counts()]
        counted = dead.kind if dead.at else ""
        if not await self._unbury(keys=keys, args=[dead.entry, counted]):
            return False
        await self.enqueue([replace(job, attempt=0, turn=None)])
        return True

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


def _dead_job(entry: str) -> DeadJob:
    """A dead list entry; entries from before they carried when and why are the job alone."""
    try:
        value = json.loads(entry)
    except ValueError:
        value = None
    if isinstance(value, dict) and isinstance(value.get("job"), str) and "reason" in value:
        return DeadJob(
            at=float(value.get("at") or 0),
            queue=str(value.get("queue") or "?"),
            kind=str(value.get("kind") or "?"),
            reason=str(value["reason"]),
            raw=value["job"],
            entry=entry,
        )
    kind = str(value.get("kind")) if isinstance(value, dict) and value.get("kind") else "?"
    queue = "?"
    dead = DeadJob(0.0, queue, kind, "buried before reasons were kept", entry, entry)
    job = dead.job
    return replace(dead, queue=job.queue, kind=job.kind) if job else dead


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
