"""Idempotency markers of jobs, and what each text we sent was for.

A text's marker is written before the send (at most once: a redelivery finds it and sends
nothing); a Slack post's after the post (at least once). Markers about a caller live in the
caller's hash slot, so the check and the caller's state are read in one script.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.domain.jobs import SentText
from bot.domain.line import DEFAULT_LINE
from storage.callers import EVERY_LINE, RECORD_TTL
from storage.keys import DAY, Keys

JOB_DONE_TTL = 7 * DAY

# KEYS: number hash, default line's caller hash, job marker. ARGV: respect_opt_out (1/0),
# marker ttl, line. One round trip before an SMS goes out: the opt-out check and the at-most-once
# marker. Returns "opted_out", "go", or the marker another delivery left ("done", "running",
# "failed").
_SMS_START = (
    EVERY_LINE
    + """
if ARGV[1] == '1' and every_line(KEYS[1], KEYS[2], ARGV[3]) then return 'opted_out' end
local previous = redis.call('GET', KEYS[3])
if previous then return previous end
redis.call('SET', KEYS[3], 'running', 'EX', ARGV[2])
return 'go'
"""
)

# KEYS: job marker. A reclaimed Slack post whose worker died holding the lease: free the lease
# (only a 'running' one: a 'done' marker means it was recorded, and stays).
_TAKE_OVER = """
if redis.call('GET', KEYS[1]) == 'running' then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Markers:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._sms_start = redis.register_script(_SMS_START)
        self._take_over = redis.register_script(_TAKE_OVER)

    # --- a text about a caller: at most once ------------------------------------------------
    async def start_sms(self, phone: str, line: str, job_id: str, respect_opt_out: bool) -> str:
        """'go' when this delivery may send; 'opted_out'; or the marker a delivery left."""
        keys = [
            self.keys.number(phone),
            self.keys.caller(phone, DEFAULT_LINE),
            self.keys.caller_job(phone, job_id),
        ]
        args = [int(respect_opt_out), JOB_DONE_TTL, line]
        return str(await self._sms_start(keys=keys, args=args))  # type: ignore[arg-type]

    async def start_once(self, phone: str, line: str, job_id: str) -> str:
        """start_sms without the opt-out check, for other work at most once about a caller (a
        call back: STOP is about texts, and a caller who opted out may still be called)."""
        return await self.start_sms(phone, line, job_id, respect_opt_out=False)

    def finish_sms(
        self, pipe: Pipeline, phone: str, job_id: str, state: str, sent: tuple[str, SentText] | None
    ) -> None:
        """Mark the send done/failed on the caller's pipeline; with `sent` (MessageSid, what it
        was for) keep that for the text's delivery status callback."""
        pipe.set(self.keys.caller_job(phone, job_id), state, ex=JOB_DONE_TTL)
        if sent is not None:
            pipe.set(self.keys.sent_sms(sent[0]), sent[1].to_json(), ex=RECORD_TTL)

    async def sms_failed(self, phone: str, job_id: str) -> None:
        """A permanent failure: nothing went out, and no attempt will ever try again."""
        await self.redis.set(self.keys.caller_job(phone, job_id), "failed", ex=JOB_DONE_TTL)

    async def release_caller_job(self, phone: str, job_id: str) -> None:
        """A retryable failure: nothing went out, so a later attempt may run it."""
        await self.redis.delete(self.keys.caller_job(phone, job_id))

    async def sms_state(self, phone: str, job_id: str) -> str | None:
        """The marker a text's delivery left ("running", "done", "failed"); None: never tried."""
        value = await self.redis.get(self.keys.caller_job(phone, job_id))
        return value if isinstance(value, str) else None

    async def sent_text(self, message_sid: str) -> SentText | None:
        raw = await self.redis.get(self.keys.sent_sms(message_sid))
        return SentText.from_json(str(raw)) if raw else None

    # --- a Slack notice (not about one caller's order): at least once ------------------------
    async def begin(self, job_id: str, lease_seconds: int) -> str | None:
        """Take the job; None if it's ours to do, else what someone else left ('done',
        'running')."""
        previous = await self.redis.set(
            self.keys.job(job_id), "running", nx=True, ex=lease_seconds, get=True
        )
        return previous if isinstance(previous, str) else None

    async def done(self, job_id: str) -> None:
        await self.redis.set(self.keys.job(job_id), "done", ex=JOB_DONE_TTL)

    async def release(self, job_id: str) -> None:
        """A retryable failure: nothing went out, so a later attempt may run it."""
        await self.redis.delete(self.keys.job(job_id))

    async def take_over(self, phone: str | None, job_id: str) -> bool:
        """Free the lease a dead worker left on a Slack job (caller-keyed when phone is given);
        False when there was none to free."""
        key = self.keys.caller_job(phone, job_id) if phone else self.keys.job(job_id)
        return bool(await self._take_over(keys=[key]))
