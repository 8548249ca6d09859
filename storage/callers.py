"""One caller on one line: their texts in, opt-out, exclusion, and their place in a lead.

The caller hash (keys.caller) holds the flags the missed-call decision reads (opted_out,
excluded, last_text_at), the caller's current lead and the sequence of their Slack posts.
"""

from __future__ import annotations

import json

from redis.asyncio import Redis

from bot.domain.events import Claim
from storage.keys import DAY, Keys

RECORD_TTL = 7 * DAY  # how long a CallSid / MessageSid is remembered for dedupe
LEDGER_MESSAGE_MAX = 1_600  # Twilio's cap on an SMS body

# Shared by a missed call's claim (storage/calls.py) and a text's: continue the caller's recent
# lead or open a new one, and reserve `count` places in the caller's Slack post order. Expects:
# state (the caller hash key), now, lead_seconds, new_lead_id, business_number, count,
# card_is_post (true when a new lead's card takes the place of the one post, as for a missed
# call). Sets: lead_id, new_lead, seq.
ATTACH_LEAD = """
local function attach_lead(state, now, lead_seconds, new_lead_id, business_number, count,
                           card_is_post)
  local cur = redis.call('HMGET', state, 'lead_id', 'lead_at')
  local lead_id, new_lead = cur[1], 0
  if (not lead_id) or (not cur[2]) or (now - tonumber(cur[2]) >= lead_seconds) then
    lead_id, new_lead = new_lead_id, 1
    if not card_is_post then
      count = count + 1  -- the new lead's card comes first in the thread order
    end
  end
  redis.call('HSET', state, 'lead_id', lead_id, 'lead_at', now, 'business_number', business_number)
  local last = redis.call('HINCRBY', state, 'seq', count)
  return lead_id, new_lead, last - count + 1
end
"""

# KEYS: inbound message record, caller hash[, ledger].
# ARGV: now, lead_seconds, new_lead_id, business_number, record_ttl, action, posts
# [, body, source, message_sid, line, twilio_answered] (with the ledger key).
# The opt-out is written here, flag and ledger entry in one step, before any reply is planned,
# so no later send can race past it.
_RECORD_INBOUND_SMS = (
    ATTACH_LEAD
    + """
local existing = redis.call('HMGET', KEYS[1], 'record', 'enqueued')
if existing[1] then return {'dup', existing[1], existing[2] or '0'} end
local now, action = tonumber(ARGV[1]), ARGV[6]
local was_opted_out = redis.call('HEXISTS', KEYS[2], 'opted_out')
if action == 'opt_out' then
  redis.call('HSET', KEYS[2], 'opted_out', now)
  if KEYS[3] then
    redis.call('XADD', KEYS[3], '*', 'event', 'opt_out', 'at', ARGV[1], 'line', ARGV[11],
      'source', ARGV[9], 'message', ARGV[8], 'message_sid', ARGV[10])
  end
elseif action == 'opt_in' then
  redis.call('HDEL', KEYS[2], 'opted_out')
  -- Only the caller's own START-family text lifts an opt-out; a "yes" to the crew lifts nothing.
  if KEYS[3] and (was_opted_out == 1 or ARGV[12] == '1') then
    redis.call('XADD', KEYS[3], '*', 'event', 'opt_in', 'at', ARGV[1], 'line', ARGV[11],
      'source', ARGV[9], 'message', ARGV[8], 'message_sid', ARGV[10])
  end
end
local lead_id, new_lead, seq = attach_lead(
  KEYS[2], now, tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[7]))
local record = cjson.encode({
  action = action, was_opted_out = was_opted_out, lead_id = lead_id, new_lead = new_lead,
  seq = seq})
redis.call('HSET', KEYS[1], 'record', record, 'enqueued', '0')
redis.call('EXPIRE', KEYS[1], ARGV[5])
return {'new', record, '0'}
"""
)

# KEYS: caller hash, ledger. ARGV: now, then field, value pairs for the ledger entry.
# An opt-out learned other than by keyword (carrier 21610, the crew's button): set the flag and
# write the ledger entry in one step; returns 0 (nothing written) when already opted out.
_RECORD_OPT_OUT = """
if redis.call('HSETNX', KEYS[1], 'opted_out', ARGV[1]) == 0 then return 0 end
local entry = {}
for i = 2, #ARGV do entry[#entry + 1] = ARGV[i] end
redis.call('XADD', KEYS[2], '*', unpack(entry))
return 1
"""


def claim_from_reply(key: str, reply: list[str]) -> Claim:
    status, record, enqueued = reply
    return Claim(
        key=key, duplicate=status == "dup", record=json.loads(record), enqueued=enqueued == "1"
    )


class Callers:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._record_sms = redis.register_script(_RECORD_INBOUND_SMS)
        self._record_opt_out = redis.register_script(_RECORD_OPT_OUT)

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
        return claim_from_reply(keys[0], await self._record_sms(keys=keys, args=args))

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
