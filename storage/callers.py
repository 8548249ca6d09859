"""One caller: their texts in, opt-out and exclusion (on every line), their place in a lead.

The caller hash (keys.caller, one per line) holds the last auto-text's time, the caller's
current lead on that line and the sequence of their Slack posts. What holds on every line lives
in the number hash (keys.number): an opt-out on any line stops texts from every line, and only
the caller's START lifts it, for the line whose number received it (Twilio keeps its own STOP
block per number); an exclusion covers every line. Before several lines, opt-outs and
exclusions lived in the default line's caller hash: the scripts read it too (EVERY_LINE).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bot.domain.events import Claim
from bot.domain.leads import LeadState
from bot.domain.line import DEFAULT_LINE
from storage.keys import DAY, THREAD_TTL, Keys

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

# What holds for a number on every line. `number`: the number hash; `before`: the default line's
# caller hash, where a release before several lines kept the opt-out and the exclusion.
EVERY_LINE = """
local function every_line(number, before, line)
  local n = redis.call('HMGET', number, 'opted_out', 'excluded', 'in:' .. line)
  local b = redis.call('HMGET', before, 'opted_out', 'excluded')
  local at = n[1] or b[1]
  local out = (at and not (n[3] and tonumber(n[3]) >= tonumber(at))) and true or false
  return out, (n[2] or b[2])
end
"""

# KEYS: inbound message record, caller hash, ledger, number hash, default line's caller hash,
# the caller's lead keys' common start (keys.lead(phone, ""): the same hash slot as the others,
# so the script stays on one node of a cluster).
# ARGV: now, lead_seconds, new_lead_id, business_number, record_ttl, action, posts, body, source,
# message_sid, line, twilio_answered, phone, lead_ttl.
# The opt-out is written here, flag and ledger entry in one step, before any reply is planned,
# so no later send can race past it. A new text also opens its lead (storage/leads.py's
# open_and_get, the hash's part) and returns the lead's hash and whether it is the lead's first
# reply: the flow decides the transition from it without another read.
_RECORD_INBOUND_SMS = (
    ATTACH_LEAD
    + EVERY_LINE
    + """
local existing = redis.call('HMGET', KEYS[1], 'record', 'enqueued')
if existing[1] then return {'dup', existing[1], existing[2] or '0'} end
local now, action, line = tonumber(ARGV[1]), ARGV[6], ARGV[11]
local was_opted_out = every_line(KEYS[4], KEYS[5], line) and 1 or 0
if action == 'opt_out' then
  redis.call('HSET', KEYS[4], 'opted_out', now)
  redis.call('XADD', KEYS[3], '*', 'event', 'opt_out', 'at', ARGV[1], 'line', line,
    'source', ARGV[9], 'message', ARGV[8], 'message_sid', ARGV[10])
elseif action == 'opt_in' and (was_opted_out == 1 or ARGV[12] == '1') then
  -- Only the caller's own START-family text lifts an opt-out, and only for the line whose
  -- number got it; a "yes" to the crew lifts nothing.
  redis.call('HSET', KEYS[4], 'in:' .. line, now)
  redis.call('XADD', KEYS[3], '*', 'event', 'opt_in', 'at', ARGV[1], 'line', line,
    'source', ARGV[9], 'message', ARGV[8], 'message_sid', ARGV[10])
end
local lead_id, new_lead, seq = attach_lead(
  KEYS[2], now, tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[7]))
local record = cjson.encode({
  action = action, was_opted_out = was_opted_out, lead_id = lead_id, new_lead = new_lead,
  seq = seq})
redis.call('HSET', KEYS[1], 'record', record, 'enqueued', '0')
redis.call('EXPIRE', KEYS[1], ARGV[5])
local lead = KEYS[6] .. lead_id
redis.call('HSET', lead, 'phone', ARGV[13], 'line', line)
redis.call('HSETNX', lead, 'opened_at', ARGV[1])
redis.call('EXPIRE', lead, ARGV[14])
redis.call('HINCRBY', lead, 'texts_in', 1)
if ARGV[4] ~= '' then redis.call('HSETNX', lead, 'business_number', ARGV[4]) end
local first_reply = 0
-- STOP is not a reply: only a waiting text counts; a START word from a caller who had not
-- opted out is one (bot/domain/keywords.py: effective).
if action == 'message' or (action == 'opt_in' and was_opted_out == 0) then
  redis.call('HSETNX', lead, 'first_reply_at', ARGV[1])
  first_reply = redis.call('HSETNX', lead, 'counted_replied', '1')
end
return {'new', record, '0', redis.call('HGETALL', lead), first_reply}
"""
)

# KEYS: number hash, default line's caller hash, ledger. ARGV: now, line, then field, value pairs
# for the ledger entry. An opt-out learned other than by keyword (carrier 21610, the crew's
# button): the flag and the ledger entry in one step; returns 0 (nothing written) when the
# number is already opted out on that line.
_RECORD_OPT_OUT = (
    EVERY_LINE
    + """
if every_line(KEYS[1], KEYS[2], ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'opted_out', ARGV[1])
local entry = {}
for i = 3, #ARGV do entry[#entry + 1] = ARGV[i] end
redis.call('XADD', KEYS[3], '*', unpack(entry))
return 1
"""
)


@dataclass(frozen=True)
class Exclusion:
    note: str
    line: str  # the line it was added on; it applies to every line


@dataclass(frozen=True)
class OpenedLead:
    """The lead a new text was put in, as the claim left it: what the flow decides from."""

    state: LeadState
    first_reply: bool  # the lead's first reply (a waiting text, not STOP/START/HELP)


def claim_from_reply(key: str, reply: list[Any]) -> Claim:
    status, record, enqueued = reply[:3]
    return Claim(
        key=key, duplicate=status == "dup", record=json.loads(record), enqueued=enqueued == "1"
    )


def opened_from_reply(reply: list[Any]) -> OpenedLead | None:
    """None for a duplicate MessageSid: the script opened nothing."""
    if len(reply) < 5:
        return None
    flat = [str(item) for item in reply[3]]
    return OpenedLead(
        LeadState.from_hash(dict(zip(flat[::2], flat[1::2], strict=True))), reply[4] == 1
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
    ) -> tuple[Claim, OpenedLead | None]:
        """Dedupe the MessageSid, apply STOP/START first (flag and consent ledger entry in the
        same step), reserve `posts` places in the thread, open the lead: one round trip. The
        lead as opened, None for a duplicate (whose lead was opened by its first delivery)."""
        keys = [
            self.keys.inbound_sms(phone, message_sid),
            self.keys.caller(phone, line),
            self.keys.ledger(phone),
            *self.every_line(phone),
            self.keys.lead(phone, ""),
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
            phone,
            THREAD_TTL,
        ]
        reply = await self._record_sms(keys=keys, args=args)
        return claim_from_reply(keys[0], reply), opened_from_reply(reply)

    def every_line(self, phone: str) -> list[str]:
        """The keys EVERY_LINE reads: the number hash, the default line's caller hash."""
        return [self.keys.number(phone), self.keys.caller(phone, DEFAULT_LINE)]

    async def caller(self, phone: str, line: str) -> dict[str, str]:
        """The caller hash on this line, with `opted_out` and `excluded` as they hold there."""
        pipe = self.redis.pipeline(transaction=False)  # one hash slot
        pipe.hgetall(self.keys.caller(phone, line))
        pipe.hgetall(self.keys.number(phone))
        pipe.hgetall(self.keys.caller(phone, DEFAULT_LINE))
        on_line, number, before = await pipe.execute()
        view = {k: v for k, v in on_line.items() if k not in ("opted_out", "excluded")}
        out_at = number.get("opted_out") or before.get("opted_out")
        back = number.get(f"in:{line}")
        if out_at and not (back and float(back) >= float(out_at)):
            view["opted_out"] = out_at
        excluded = number.get("excluded") or before.get("excluded")
        if excluded:
            view["excluded"] = excluded
        return view

    async def is_opted_out(self, phone: str, line: str) -> bool:
        return "opted_out" in await self.caller(phone, line)

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
        keys = [*self.every_line(phone), self.keys.ledger(phone)]
        return bool(await self._record_opt_out(keys=keys, args=[now, line, *pairs]))

    async def exclude(self, phone: str, line: str, note: str = "") -> None:
        """The number never gets an auto-text, on any line. The number hash's field is what the
        missed-call decision reads; the list records where it was added (/textback exclude)."""
        pipe = self.redis.pipeline(transaction=False)  # two hash slots: no MULTI on a cluster
        pipe.hset(self.keys.number(phone), "excluded", note or "-")
        pipe.hset(self.keys.excluded(), phone, json.dumps({"note": note, "line": line}))
        await pipe.execute()

    async def exclude_new(self, entries: list[tuple[str, str]], line: str = "") -> list[bool]:
        """Excludes each (phone, note) not excluded yet; True where it was new. A number already
        on the list keeps its note. Two round trips for the whole batch (a bulk import)."""
        if not entries:
            return []
        listed_before = await self.redis.hmget(
            self.keys.excluded_before_lines(), [phone for phone, _ in entries]
        )
        pipe = self.redis.pipeline(transaction=False)  # many hash slots: no MULTI on a cluster
        for (phone, note), before in zip(entries, listed_before, strict=True):
            if before is None:
                record = json.dumps({"note": note, "line": line})
                pipe.hsetnx(self.keys.excluded(), phone, record)
                # NX too: a re-run after a crash between the two completes the number's flag.
                pipe.hsetnx(self.keys.number(phone), "excluded", note or "-")
        replies = iter(await pipe.execute())
        added: list[bool] = []
        for before in listed_before:
            if before is None:
                listed, _ = next(replies), next(replies)
                added.append(bool(listed))
            else:
                added.append(False)
        return added

    async def unexclude(self, phone: str) -> bool:
        """False when the number was not excluded. Never touches an opt-out."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hdel(self.keys.number(phone), "excluded")
        pipe.hdel(self.keys.caller(phone, DEFAULT_LINE), "excluded")
        pipe.hdel(self.keys.excluded(), phone)
        pipe.hdel(self.keys.excluded_before_lines(), phone)
        return any(await pipe.execute())

    async def excluded(self) -> dict[str, Exclusion]:
        """Every excluded number, with its note and the line it was added on."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(self.keys.excluded_before_lines())
        pipe.hgetall(self.keys.excluded())
        before, now = await pipe.execute()
        found = {phone: Exclusion(note, DEFAULT_LINE) for phone, note in before.items()}
        for phone, raw in now.items():
            value: dict[str, Any] = json.loads(raw)
            found[phone] = Exclusion(value.get("note", ""), value.get("line", DEFAULT_LINE))
        return found

    async def next_seq(self, phone: str, line: str) -> int:
        """A place at the end of the caller's Slack post order (for notices about crew replies)."""
        return int(await self.redis.hincrby(self.keys.caller(phone, line), "seq", 1))
