"""Calls: the one atomic decision a missed call gets, and what else a CallSid leaves behind.

Twilio may deliver a call's callbacks many times and out of order: every record is keyed by the
CallSid, so a repeat finds the first decision.
"""

from __future__ import annotations

import json

from redis.asyncio import Redis

from bot.domain.events import Claim
from bot.domain.line import DEFAULT_LINE
from storage.callers import ATTACH_LEAD, EVERY_LINE, RECORD_TTL, claim_from_reply
from storage.keys import DAY, Keys

LINE_TYPE_TTL = 30 * DAY  # a number's line type, from Lookup (paid) or a failed text
LOOKUP_PENDING_TTL = 120  # a lookup under way: no second one is queued meanwhile

# KEYS: call record, caller hash, ledger, number hash, default line's caller hash, line type.
# ARGV: now, window_seconds, lead_seconds, new_lead_id, business_number, record_ttl, paused,
# call_sid, line.
# Returns {"dup"|"new", record-json, enqueued}. The opt-out/exclusion/window check and the
# marking of "texted now" happen in one step, so two processes racing on one caller send one text.
_CLAIM_MISSED_CALL = (
    ATTACH_LEAD
    + EVERY_LINE
    + """
local existing = redis.call('HMGET', KEYS[1], 'record', 'enqueued')
if existing[1] then return {'dup', existing[1], existing[2] or '0'} end
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local st = redis.call('HMGET', KEYS[2], 'last_text_at', 'texts')
local opted_out, excluded = every_line(KEYS[4], KEYS[5], ARGV[9])
local outcome
if opted_out then outcome = 'opted_out'
elseif excluded then outcome = 'excluded'
elseif redis.call('GET', KEYS[6]) == 'landline' then outcome = 'landline'
elseif st[1] and now - tonumber(st[1]) < window then outcome = 'window'
elseif ARGV[7] == '1' then outcome = 'paused'
else
  outcome = 'send'
  redis.call('HSET', KEYS[2], 'last_text_at', now)
  redis.call('HINCRBY', KEYS[2], 'texts', 1)
end
-- Consent ledger: the call itself is the caller's implied consent to one informational reply.
redis.call('XADD', KEYS[3], '*', 'event', 'implied_consent', 'at', ARGV[1], 'line', ARGV[9],
  'call_sid', ARGV[8], 'called', ARGV[5], 'outcome', outcome)
-- A new lead's card is the call's one post; a known lead gets a "called again" note instead.
local lead_id, new_lead, seq = attach_lead(
  KEYS[2], now, tonumber(ARGV[3]), ARGV[4], ARGV[5], 1, true)
local record = cjson.encode({
  outcome = outcome, repeat_caller = (st[2] and tonumber(st[2]) > 0) and 1 or 0,
  last_text_at = st[1] and tonumber(st[1]) or 0, lead_id = lead_id, new_lead = new_lead,
  seq = seq})
redis.call('HSET', KEYS[1], 'record', record, 'enqueued', '0')
redis.call('EXPIRE', KEYS[1], ARGV[6])
return {'new', record, '0'}
"""
)


# KEYS: rung-again counter. ARGV: silent answers so far, ttl. 1 when that is more than the last
# extra round was for (so this round ended with a new one), and records it; else 0.
_NEW_ROUND = """
if tonumber(ARGV[1]) <= tonumber(redis.call('GET', KEYS[1]) or '0') then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


class Calls:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._claim = redis.register_script(_CLAIM_MISSED_CALL)
        self._new_round = redis.register_script(_NEW_ROUND)

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
            self.keys.number(phone),
            self.keys.caller(phone, DEFAULT_LINE),
            self.keys.line_type(phone),  # a landline gets no text (Lookup, or a 30006 before)
        ]
        args = [now, window_seconds, lead_seconds, new_lead_id, business_number, RECORD_TTL]
        reply = await self._claim(
            keys=keys,
            args=[*args, int(paused), call_sid, line],  # type: ignore[list-item]
        )
        return claim_from_reply(keys[0], reply)

    async def record_outcome(self, phone: str | None, call_sid: str, outcome: str) -> bool:
        """For calls that trigger no text (answered, hidden caller ID). False if already known."""
        key = self.keys.call(phone, call_sid)
        record = json.dumps({"outcome": outcome})
        if not await self.redis.hsetnx(key, "record", record):
            return False
        await self.redis.expire(key, RECORD_TTL)
        return True

    async def mark_screened(self, parent_call_sid: str) -> None:
        await self.redis.set(self.keys.screened(parent_call_sid), "1", ex=DAY)

    async def was_screened(self, parent_call_sid: str) -> bool:
        return bool(await self.redis.exists(self.keys.screened(parent_call_sid)))

    # --- the crew's phones ringing ----------------------------------------------------------
    async def leg_answered(self, parent_call_sid: str, crew_phone: str) -> None:
        """The screening prompt runs on `crew_phone`: it answered (a key press may follow)."""
        key = self.keys.answered_legs(parent_call_sid)
        pipe = self.redis.pipeline(transaction=False)  # one slot: the parent's
        pipe.sadd(key, crew_phone)
        pipe.expire(key, DAY)
        await pipe.execute()

    async def answered_legs(self, parent_call_sid: str) -> set[str]:
        found = await self.redis.smembers(self.keys.answered_legs(parent_call_sid))
        return {str(phone) for phone in found}

    async def new_round(self, parent_call_sid: str, silent: int) -> bool:
        """True once per count of silent answers: a round that ended without a new one (a
        repeated callback, or a round nobody answered) rings nobody again."""
        key = self.keys.rung_again(parent_call_sid)
        return bool(await self._new_round(keys=[key], args=[silent, DAY]))

    # --- a caller's line type (Lookup) ------------------------------------------------------
    async def want_line_type(self, phone: str) -> bool:
        """True when the number's line type is neither known nor being looked up: the caller
        should queue the lookup (marked pending here, so a second call queues none)."""
        key = self.keys.line_type(phone)
        return bool(await self.redis.set(key, "pending", nx=True, ex=LOOKUP_PENDING_TTL))

    async def set_line_type(self, phone: str, line_type: str) -> None:
        await self.redis.set(self.keys.line_type(phone), line_type, ex=LINE_TYPE_TTL)

    async def line_type(self, phone: str) -> str | None:
        """landline, mobile, ... as Lookup said; None when unknown or still being looked up."""
        value = await self.redis.get(self.keys.line_type(phone))
        return None if value in (None, "pending") else str(value)

    # --- voicemail --------------------------------------------------------------------------
    async def voicemail_offered(self, call_sid: str, phone: str, line: str) -> None:
        """The caller heard the beep: their recording's callbacks find them by the CallSid."""
        key = self.keys.voicemail_call(call_sid)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(key, mapping={"phone": phone, "line": line})
        pipe.expire(key, RECORD_TTL)
        await pipe.execute()

    async def voicemail_caller(self, call_sid: str) -> tuple[str, str] | None:
        """(caller, line) of a call that was offered voicemail, or None."""
        found = await self.redis.hgetall(self.keys.voicemail_call(call_sid))
        if "phone" not in found:
            return None
        return str(found["phone"]), str(found.get("line", DEFAULT_LINE))
