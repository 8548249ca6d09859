"""A lead's Slack thread: which caller a card belongs to, and the strict order of its posts.

Every post in a caller's thread carries a sequence number (reserved when it is planned, in the
caller hash's `seq`). A post runs when the one before it is done (`done` in the caller hash);
one that comes early parks in the caller's parked hash and is handed on by the post before it,
or released by a timer (outbox Unpark) if that one never comes. A post that has started
(`started` in the caller hash) is coming: it is retrying, or held while Slack's wiring is
broken, and it finishes one way or another, so the timer never skips it (a post that skipped
ahead would find its place taken and be dropped). Each post holds a lease (its marker,
'running') while it talks to Slack, so a second delivery of it waits rather than posting twice;
a worker that died holding one has it taken over (storage/markers.py).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.domain.jobs import Job, LeadThread, Place
from storage.keys import THREAD_TTL, Keys
from storage.markers import JOB_DONE_TTL

# KEYS: caller hash, parked hash, job marker, lead hash. ARGV: seq, job-json, lease seconds.
# One round trip before a thread post: its turn in the thread, its lease, and the card's ts.
# Returns {state, card_ts, was_parked, lease_ms}; state: done | parked | finished | busy | run;
# lease_ms: for busy, how long the other delivery's lease still runs.
_POST_START = """
local done = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
local seq = tonumber(ARGV[1])
if seq <= done then return {'done', '', 0, 0} end
if seq ~= done + 1 then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  return {'parked', '', 0, 0}
end
local was_parked = redis.call('HDEL', KEYS[2], ARGV[1])
local previous = redis.call('GET', KEYS[3])
if previous == 'done' or previous == 'failed' then return {'finished', '', was_parked, 0} end
if previous then return {'busy', '', was_parked, redis.call('PTTL', KEYS[3])} end
redis.call('SET', KEYS[3], 'running', 'EX', ARGV[3])
redis.call('HSET', KEYS[1], 'started', seq)
return {'run', redis.call('HGET', KEYS[4], 'ts') or '', was_parked, 0}
"""

# KEYS: caller hash, parked hash, job marker, lead hash.
# ARGV: seq, outcome (done/failed), marker ttl, card channel, card ts, lead ttl, card's version.
# One round trip after a thread post: record it, the card's ts and the version it shows if it
# was the card, the thread's progress. Returns {the post parked behind it or '', stale}: stale
# is 1 when the lead changed after the version the card shows (read in the same step as the ts
# is written, so a change either sees the ts and queues its own update, or is counted here).
_POST_FINISH = """
redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[3])
local stale = 0
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[4], 'channel', ARGV[4], 'ts', ARGV[5], 'rendered', ARGV[7])
  redis.call('EXPIRE', KEYS[4], ARGV[6])
  if tonumber(redis.call('HGET', KEYS[4], 'version') or '0') > tonumber(ARGV[7]) then
    stale = 1
  end
end
if ARGV[5] ~= '' then redis.call('HDEL', KEYS[4], 'card_failed') end
local done = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
local seq = tonumber(ARGV[1])
if seq > done then redis.call('HSET', KEYS[1], 'done', seq) end
if tonumber(redis.call('HGET', KEYS[1], 'started') or '0') <= seq then
  redis.call('HDEL', KEYS[1], 'started')
end
return {redis.call('HGET', KEYS[2], tostring(seq + 1)) or '', stale}
"""

# KEYS: caller hash, parked hash. ARGV: seq. A post parked too long: the one before it is not
# coming (lost before it was queued), so skip ahead rather than hold the thread forever; unless
# the thread's next post has started (retrying, or held): then {'wait'}, and the timer is set
# again. Returns {'go', job} or {'none'} when nothing is parked there any more.
_UNPARK = """
local job = redis.call('HGET', KEYS[2], ARGV[1])
if not job then return {'none'} end
local seq = tonumber(ARGV[1])
local done = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
local started = tonumber(redis.call('HGET', KEYS[1], 'started') or '0')
if started == done + 1 and started < seq then return {'wait'} end
if seq - 1 > done then redis.call('HSET', KEYS[1], 'done', seq - 1) end
redis.call('HDEL', KEYS[2], ARGV[1])
return {'go', job}
"""


@dataclass(frozen=True)
class PostStart:
    state: str  # done | parked | finished | busy | run
    card_ts: str | None  # the lead card's ts, for a post in its thread
    was_parked: bool  # it had waited behind an earlier post (so a release timer exists)
    lease_left: float = 0.0  # busy: seconds until the other delivery's lease runs out


@dataclass(frozen=True)
class PostedCard:
    """A lead card just posted: where, and the lead version it shows."""

    channel: str
    ts: str
    rendered: int


class Threads:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._post_start = redis.register_script(_POST_START)
        self._post_finish = redis.register_script(_POST_FINISH)
        self._unpark = redis.register_script(_UNPARK)

    async def owner(self, channel: str, ts: str) -> LeadThread | None:
        """The lead whose card is the message (channel, ts), or None for any other message."""
        raw = await self.redis.get(self.keys.thread(channel, ts))
        if not raw:
            return None
        found = json.loads(raw)
        return LeadThread(found["phone"], found["line"], found["lead_id"], channel)

    async def card_ts(self, phone: str, lead_id: str) -> str | None:
        return await self.redis.hget(self.keys.lead(phone, lead_id), "ts")  # type: ignore[return-value]

    async def start_post(self, place: Place, job: Job, lease_seconds: int) -> PostStart:
        lead = place.lead
        keys = [
            self.keys.caller(lead.phone, lead.line),
            self.keys.parked(lead.phone, lead.line),
            self.keys.caller_job(lead.phone, job.id),
            self.keys.lead(lead.phone, lead.lead_id),
        ]
        state, ts, was_parked, lease_ms = await self._post_start(
            keys=keys, args=[place.seq, job.to_json(), lease_seconds]
        )
        return PostStart(
            state=str(state),
            card_ts=str(ts) or None,
            was_parked=bool(was_parked),
            lease_left=max(0, int(lease_ms)) / 1000,
        )

    async def finish_post(
        self, place: Place, job_id: str, outcome: str, card: PostedCard | None = None
    ) -> tuple[Job | None, bool]:
        """Record the post (and the card's channel, ts and the version it shows); returns the
        post parked behind it, and whether the lead changed after the version the card shows."""
        lead = place.lead
        keys = [
            self.keys.caller(lead.phone, lead.line),
            self.keys.parked(lead.phone, lead.line),
            self.keys.caller_job(lead.phone, job_id),
            self.keys.lead(lead.phone, lead.lead_id),
        ]
        channel, ts, rendered = (
            (card.channel, card.ts, str(card.rendered)) if card else ("", "", "")
        )
        args: list[str | int] = [
            place.seq,
            outcome,
            JOB_DONE_TTL,
            channel,
            ts,
            THREAD_TTL,
            rendered,
        ]
        if card is None:
            raw, stale = await self._post_finish(keys=keys, args=args)
        else:
            # The thread key is in another slot, so it is a second command, sent alongside.
            # Not a pipeline: a cluster pipeline would send EVALSHA without loading the script
            # first (NOSCRIPT on a fresh node); the script object loads it on its own.
            owner = {"phone": lead.phone, "line": lead.line, "lead_id": lead.lead_id}
            (raw, stale), _ = await asyncio.gather(
                self._post_finish(keys=keys, args=args),
                self.redis.set(self.keys.thread(channel, ts), json.dumps(owner), ex=THREAD_TTL),
            )
        return (Job.from_json(raw) if raw else None), bool(stale)

    async def is_parked(self, phone: str, line: str, seq: int) -> bool:
        """The post `seq` still waits for the one before it."""
        return bool(await self.redis.hexists(self.keys.parked(phone, line), str(seq)))

    async def parked_after(self, place: Place) -> Job | None:
        """The post parked behind this one, if one waits."""
        lead = place.lead
        raw = await self.redis.hget(self.keys.parked(lead.phone, lead.line), str(place.seq + 1))
        return Job.from_json(str(raw)) if raw else None

    async def parked_jobs(self, phone: str, line: str) -> list[Job]:
        """Every post parked in the caller's thread on the line."""
        raw = await self.redis.hvals(self.keys.parked(phone, line))
        return [Job.from_json(str(job)) for job in raw]

    async def unpark(self, phone: str, line: str, seq: int) -> tuple[Job | None, bool]:
        """The post parked at `seq`, freed to run; or (None, True) when the post before it has
        started and will come (wait more); (None, False) when nothing is parked there."""
        keys = [self.keys.caller(phone, line), self.keys.parked(phone, line)]
        found = await self._unpark(keys=keys, args=[seq])
        state = str(found[0])
        if state == "go":
            return Job.from_json(str(found[1])), False
        return None, state == "wait"

    async def record_card(self, lead: LeadThread, card: PostedCard) -> None:
        """A lead card posted again, outside its own place (the first one could not be):
        the thread's parent from now on."""
        owner = {"phone": lead.phone, "line": lead.line, "lead_id": lead.lead_id}
        pipe = self.redis.pipeline(transaction=False)
        key = self.keys.lead(lead.phone, lead.lead_id)
        pipe.hset(key, mapping={"channel": card.channel, "ts": card.ts, "rendered": card.rendered})
        pipe.hdel(key, "card_failed")
        pipe.expire(key, THREAD_TTL)
        await pipe.execute()
        await self.redis.set(
            self.keys.thread(card.channel, card.ts), json.dumps(owner), ex=THREAD_TTL
        )
