"""The store speaks the domain's verbs; Redis commands stay in here."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.domain.jobs import Job
from storage import scripts
from storage.keys import Keys
from storage.ledger import Ledger

DAY = 86_400
RECORD_TTL = 7 * DAY  # how long a CallSid / MessageSid / event_id is remembered for dedupe
THREAD_TTL = 180 * DAY  # a crew reply in an old thread still finds its caller
JOB_DONE_TTL = 7 * DAY
LEDGER_MESSAGE_MAX = 1_600  # Twilio's cap on an SMS body


@dataclass(frozen=True)
class Claim:
    """What the store decided for one CallSid or one inbound MessageSid."""

    key: str  # the record's key; its "enqueued" field is set once the jobs are on the outbox
    duplicate: bool
    record: dict[str, Any]
    enqueued: bool = False

    @property
    def outcome(self) -> str:
        return str(self.record.get("outcome", ""))

    @property
    def lead_id(self) -> str:
        return str(self.record["lead_id"])

    @property
    def new_lead(self) -> bool:
        return bool(self.record["new_lead"])

    @property
    def seq(self) -> int:
        return int(self.record["seq"])


def _claim(key: str, reply: list[str]) -> Claim:
    status, record, enqueued = reply
    return Claim(
        key=key, duplicate=status == "dup", record=json.loads(record), enqueued=enqueued == "1"
    )


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


@dataclass(frozen=True)
class ThreadOwner:
    phone: str
    line: str
    lead_id: str


class Store:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._claim_call = redis.register_script(scripts.CLAIM_MISSED_CALL)
        self._record_sms = redis.register_script(scripts.RECORD_INBOUND_SMS)
        self._slack_turn = redis.register_script(scripts.SLACK_TURN)
        self._slack_done = redis.register_script(scripts.SLACK_DONE)
        self._slack_unpark = redis.register_script(scripts.SLACK_UNPARK)
        self._pace = redis.register_script(scripts.PACE)
        self._hold_pace = redis.register_script(scripts.PACE_HOLD)
        self._sms_start = redis.register_script(scripts.SMS_START)
        self._post_start = redis.register_script(scripts.POST_START)
        self._post_finish = redis.register_script(scripts.POST_FINISH)
        self._record_opt_out = redis.register_script(scripts.RECORD_OPT_OUT)
        self._take_over = redis.register_script(scripts.TAKE_OVER)
        self.ledger = Ledger(redis, keys)
        # Channel -> until when a 429 holds it, as seen by this process: posts that took their
        # slot before the 429 check this after waiting for it.
        self._held: dict[str, float] = {}

    # --- calls ------------------------------------------------------------------------------
    async def claim_missed_call(
        self,
        *,
        phone: str,
        line: str,
        call_sid: str,
        business_number: str,
        now: float,
        window_seconds: float,
        lead_seconds: float,
        new_lead_id: str,
        paused: bool = False,
    ) -> Claim:
        """One atomic step: dedupe the CallSid, decide text-or-not, attach the caller's lead."""
        keys = [
            self.keys.call(phone, call_sid),
            self.keys.caller(phone, line),
            self.keys.ledger(phone),  # the call's implied consent, recorded in the same step
        ]
        args = [now, window_seconds, lead_seconds, new_lead_id, business_number, RECORD_TTL]
        reply = await self._claim_call(
            keys=keys,
            args=[*args, int(paused), call_sid, line],  # type: ignore[list-item]
        )
        return _claim(keys[0], reply)

    async def record_call_outcome(self, phone: str | None, call_sid: str, outcome: str) -> bool:
        """For calls that trigger no text (answered, hidden caller ID). False if already known."""
        key = self.keys.call(phone, call_sid)
        record = json.dumps({"outcome": outcome})
        if not await self.redis.hsetnx(key, "record", record):
            return False
        await self.redis.expire(key, RECORD_TTL)
        return True

    async def call_outcome(self, phone: str | None, call_sid: str) -> str | None:
        raw = await self.redis.hget(self.keys.call(phone, call_sid), "record")
        return str(json.loads(raw)["outcome"]) if raw else None

    async def mark_screened(self, parent_call_sid: str) -> None:
        await self.redis.set(self.keys.screened(parent_call_sid), "1", ex=DAY)

    async def was_screened(self, parent_call_sid: str) -> bool:
        return bool(await self.redis.exists(self.keys.screened(parent_call_sid)))

    # --- inbound texts ----------------------------------------------------------------------
    async def record_inbound_sms(
        self,
        *,
        phone: str,
        line: str,
        message_sid: str,
        business_number: str,
        action: str,
        posts: int,
        now: float,
        lead_seconds: float,
        new_lead_id: str,
        body: str = "",
        source: str = "",
        twilio_answered: bool = False,
    ) -> Claim:
        """Dedupe the MessageSid, apply STOP/START first (flag and consent ledger entry in the
        same step), reserve `posts` places in the thread."""
        keys = [
            self.keys.inbound_sms(phone, message_sid),
            self.keys.caller(phone, line),
            self.keys.ledger(phone),
        ]
        args: list[str | float] = [
            now,
            lead_seconds,
            new_lead_id,
            business_number,
            RECORD_TTL,
            action,
            posts,
            body[:LEDGER_MESSAGE_MAX],
            source,
            message_sid,
            line,
            int(twilio_answered),
        ]
        return _claim(keys[0], await self._record_sms(keys=keys, args=args))

    # --- caller state -----------------------------------------------------------------------
    async def caller(self, phone: str, line: str) -> dict[str, str]:
        return await self.redis.hgetall(self.keys.caller(phone, line))  # type: ignore[return-value]

    async def is_opted_out(self, phone: str, line: str) -> bool:
        return bool(await self.redis.hexists(self.keys.caller(phone, line), "opted_out"))

    async def record_opt_out(
        self,
        phone: str,
        line: str,
        now: float,
        source: str = "carrier",
        message: str = "",
        **detail: str,
    ) -> bool:
        """An opt-out learned other than by keyword: Twilio error 21610 (source "carrier") or the
        crew's button ("crew:<user>"). Flag and ledger entry in one step; False if already out.
        There is deliberately no verb that clears the flag: only the caller's START does."""
        entry = {"event": "opt_out", "at": str(now), "line": line, "source": source}
        entry.update(message=message[:LEDGER_MESSAGE_MAX], **detail)
        pairs = [item for pair in entry.items() for item in pair]
        keys = [self.keys.caller(phone, line), self.keys.ledger(phone)]
        return bool(await self._record_opt_out(keys=keys, args=[now, *pairs]))

    async def exclude(self, phone: str, line: str, note: str = "") -> None:
        """The caller hash's field is what the missed-call decision reads; the line's index
        lists the exclusions (/textback exclude list)."""
        pipe = self.redis.pipeline(transaction=False)  # two hash slots: no MULTI on a cluster
        pipe.hset(self.keys.caller(phone, line), "excluded", note or "-")
        pipe.hset(self.keys.excluded(line), phone, note)
        await pipe.execute()

    async def unexclude(self, phone: str, line: str) -> bool:
        """False when the number was not excluded. Never touches an opt-out."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hdel(self.keys.caller(phone, line), "excluded")
        pipe.hdel(self.keys.excluded(line), phone)
        flag, indexed = await pipe.execute()
        return bool(flag or indexed)

    async def excluded(self, line: str) -> dict[str, str]:
        """Excluded number -> note, for one line."""
        return await self.redis.hgetall(self.keys.excluded(line))  # type: ignore[return-value]

    async def next_seq(self, phone: str, line: str) -> int:
        """A place at the end of the caller's Slack post order (for notices about crew replies)."""
        return int(await self.redis.hincrby(self.keys.caller(phone, line), "seq", 1))

    # --- Slack threads ----------------------------------------------------------------------
    async def save_card(self, phone: str, line: str, lead_id: str, channel: str, ts: str) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(self.keys.lead(phone, lead_id), mapping={"channel": channel, "ts": ts})
        pipe.expire(self.keys.lead(phone, lead_id), THREAD_TTL)
        owner = {"phone": phone, "line": line, "lead_id": lead_id}
        pipe.set(self.keys.thread(channel, ts), json.dumps(owner), ex=THREAD_TTL)
        await pipe.execute()

    async def card_ts(self, phone: str, lead_id: str) -> str | None:
        return await self.redis.hget(self.keys.lead(phone, lead_id), "ts")  # type: ignore[return-value]

    async def thread_owner(self, channel: str, ts: str) -> ThreadOwner | None:
        raw = await self.redis.get(self.keys.thread(channel, ts))
        return ThreadOwner(**json.loads(raw)) if raw else None

    async def first_slack_event(self, event_id: str) -> bool:
        """Slack retries events it thinks we missed; Bolt doesn't dedupe them, so we do."""
        return bool(await self.redis.set(self.keys.slack_event(event_id), "1", nx=True, ex=DAY))

    # --- ordering of a caller's Slack posts -------------------------------------------------
    async def slack_turn(self, phone: str, line: str, seq: int, job: Job) -> str:
        keys = [self.keys.caller(phone, line), self.keys.parked(phone, line)]
        return str(await self._slack_turn(keys=keys, args=[seq, job.to_json()]))

    async def slack_done(self, phone: str, line: str, seq: int) -> Job | None:
        keys = [self.keys.caller(phone, line), self.keys.parked(phone, line)]
        raw = await self._slack_done(keys=keys, args=[seq])
        return Job.from_json(raw) if raw else None

    async def is_parked(self, phone: str, line: str, seq: int) -> bool:
        """The post `seq` still waits for the one before it."""
        return bool(await self.redis.hexists(self.keys.parked(phone, line), str(seq)))

    async def slack_unpark(self, phone: str, line: str, seq: int) -> Job | None:
        keys = [self.keys.caller(phone, line), self.keys.parked(phone, line)]
        raw = await self._slack_unpark(keys=keys, args=[seq])
        return Job.from_json(raw) if raw else None

    async def pace(self, channel: str, now: float, per_second: float, burst: int = 1) -> float:
        """Seconds to wait before the next post to this channel, shared by every worker.

        No burst by default: Slack tolerates "short bursts" of an unstated size, and a 429 costs
        more (a Retry-After of a second or more) than evenly spaced posts do."""
        # 5% under the limit: posts leave on schedule but reach Slack with some jitter (a
        # post that took its slot before a 429 still waits out the Retry-After: see held()).
        interval = 1.05 / per_second
        wait = await self._pace(keys=[self.keys.pace(channel)], args=[now, interval, burst])
        return float(wait)

    async def hold_pace(self, channel: str, until: float, seconds: float) -> None:
        """Slack answered 429: no worker posts to the channel for `seconds` (until `until`)."""
        self._held[channel] = max(until, self._held.get(channel, 0.0))
        await self._hold_pace(keys=[self.keys.pace(channel)], args=[until, seconds])

    def held(self, channel: str, now: float) -> float:
        """Seconds this process knows the channel is still held for after a 429 (else 0)."""
        until = self._held.get(channel)
        if until is None:
            return 0.0
        if until <= now:
            del self._held[channel]
            return 0.0
        return until - now

    # --- idempotency of jobs ----------------------------------------------------------------
    async def begin_job(self, job_id: str, lease_seconds: int) -> str | None:
        """Take the job; None if it's ours to do, else what someone else left ('done', 'running',
        'sending')."""
        previous = await self.redis.set(
            self.keys.job(job_id), "running", nx=True, ex=lease_seconds, get=True
        )
        return previous if isinstance(previous, str) else None

    async def mark_job(self, job_id: str, state: str, ttl: int = JOB_DONE_TTL) -> None:
        await self.redis.set(self.keys.job(job_id), state, ex=ttl)

    async def release_job(self, job_id: str) -> None:
        """A retryable failure: nothing went out, so a later attempt may run it."""
        await self.redis.delete(self.keys.job(job_id))

    # --- the worker's hot paths: one round trip before and one after each send --------------
    async def start_sms(self, phone: str, line: str, job_id: str, respect_opt_out: bool) -> str:
        """'go' when this delivery may send; 'opted_out'; or the marker a delivery left."""
        keys = [self.keys.caller(phone, line), self.keys.caller_job(phone, job_id)]
        return str(await self._sms_start(keys=keys, args=[int(respect_opt_out), JOB_DONE_TTL]))

    async def finish_sms(
        self,
        phone: str,
        job_id: str,
        state: str,
        sent: tuple[str, dict[str, Any]] | None = None,
        pipe: Pipeline | None = None,
    ) -> None:
        """Mark the send done/failed; with `sent` (MessageSid, context) keep what it was for.
        With `pipe`, the commands join it and its owner executes it."""
        batch = pipe if pipe is not None else self.redis.pipeline(transaction=False)
        batch.set(self.keys.caller_job(phone, job_id), state, ex=JOB_DONE_TTL)
        if sent is not None:
            batch.set(self.keys.sent_sms(sent[0]), json.dumps(sent[1]), ex=RECORD_TTL)
        if pipe is None:
            await batch.execute()

    async def release_caller_job(self, phone: str, job_id: str) -> None:
        """A retryable failure: nothing went out, so a later attempt may run it."""
        await self.redis.delete(self.keys.caller_job(phone, job_id))

    async def parked_after(self, phone: str, line: str, seq: int) -> Job | None:
        """The post parked behind `seq`, if one waits."""
        raw = await self.redis.hget(self.keys.parked(phone, line), str(seq + 1))
        return Job.from_json(str(raw)) if raw else None

    async def take_over(self, phone: str | None, job_id: str) -> bool:
        """Free the lease a dead worker left on a Slack job (caller-keyed when phone is given);
        False when there was none to free."""
        key = self.keys.caller_job(phone, job_id) if phone else self.keys.job(job_id)
        return bool(await self._take_over(keys=[key]))

    async def start_post(
        self, phone: str, line: str, lead_id: str, seq: int, job: Job, lease_seconds: int
    ) -> PostStart:
        keys = [
            self.keys.caller(phone, line),
            self.keys.parked(phone, line),
            self.keys.caller_job(phone, job.id),
            self.keys.lead(phone, lead_id),
        ]
        state, ts, was_parked, lease_ms = await self._post_start(
            keys=keys, args=[seq, job.to_json(), lease_seconds]
        )
        return PostStart(
            state=str(state),
            card_ts=str(ts) or None,
            was_parked=bool(was_parked),
            lease_left=max(0, int(lease_ms)) / 1000,
        )

    async def finish_post(
        self,
        phone: str,
        line: str,
        lead_id: str,
        seq: int,
        job_id: str,
        outcome: str,
        card: PostedCard | None = None,
    ) -> tuple[Job | None, bool]:
        """Record the post (and the card's channel, ts and the version it shows); returns the
        post parked behind it, and whether the lead changed after the version the card shows."""
        keys = [
            self.keys.caller(phone, line),
            self.keys.parked(phone, line),
            self.keys.caller_job(phone, job_id),
            self.keys.lead(phone, lead_id),
        ]
        channel, ts, rendered = (
            (card.channel, card.ts, str(card.rendered)) if card else ("", "", "")
        )
        args: list[str | int] = [seq, outcome, JOB_DONE_TTL, channel, ts, THREAD_TTL, rendered]
        if card is None:
            raw, stale = await self._post_finish(keys=keys, args=args)
        else:
            # The thread key is in another slot, so it is a second command, sent alongside.
            # Not a pipeline: a cluster pipeline would send EVALSHA without loading the script
            # first (NOSCRIPT on a fresh node); the script object loads it on its own.
            owner = {"phone": phone, "line": line, "lead_id": lead_id}
            (raw, stale), _ = await asyncio.gather(
                self._post_finish(keys=keys, args=args),
                self.redis.set(self.keys.thread(channel, ts), json.dumps(owner), ex=THREAD_TTL),
            )
        return (Job.from_json(raw) if raw else None), bool(stale)

    # --- what our sent SMS were for (delivery status callbacks) -----------------------------
    async def remember_sent_sms(self, message_sid: str, context: dict[str, Any]) -> None:
        await self.redis.set(self.keys.sent_sms(message_sid), json.dumps(context), ex=RECORD_TTL)

    async def sent_sms(self, message_sid: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self.keys.sent_sms(message_sid))
        return json.loads(raw) if raw else None

    async def last_error(self) -> str | None:
        value = await self.redis.get(self.keys.last_error())
        return value if isinstance(value, str) else None

    async def note_error(self, text: str) -> None:
        await self.redis.set(self.keys.last_error(), text, ex=30 * DAY)
