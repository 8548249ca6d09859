"""Lua scripts for the decisions that must be atomic across server processes.

Each script touches the keys of one caller only (one hash tag), so it runs unchanged on Redis
Cluster. Times are epoch seconds passed in by the caller, so tests control the clock.
"""

# Shared by both claims: continue the caller's recent lead or open a new one, and reserve
# `count` places in the caller's Slack post order. Expects: state (the caller hash key), now,
# lead_seconds, new_lead_id, business_number, count, card_is_post (true when a new lead's card
# takes the place of the one post, as for a missed call). Sets: lead_id, new_lead, seq.
_LEAD = """
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

# KEYS: call record, caller hash[, ledger].
# ARGV: now, window_seconds, lead_seconds, new_lead_id, business_number, record_ttl, paused
# [, call_sid, line] (with the ledger key).
# Returns {"dup"|"new", record-json, enqueued}. The opt-out/exclusion/window check and the
# marking of "texted now" happen in one step, so two processes racing on one caller send one text.
CLAIM_MISSED_CALL = (
    _LEAD
    + """
local existing = redis.call('HMGET', KEYS[1], 'record', 'enqueued')
if existing[1] then return {'dup', existing[1], existing[2] or '0'} end
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local st = redis.call('HMGET', KEYS[2], 'opted_out', 'excluded', 'last_text_at', 'texts')
local outcome
if st[1] then outcome = 'opted_out'
elseif st[2] then outcome = 'excluded'
elseif st[3] and now - tonumber(st[3]) < window then outcome = 'window'
elseif ARGV[7] == '1' then outcome = 'paused'
else
  outcome = 'send'
  redis.call('HSET', KEYS[2], 'last_text_at', now)
  redis.call('HINCRBY', KEYS[2], 'texts', 1)
end
if KEYS[3] then
  -- Consent ledger: the call itself is the caller's implied consent to one informational reply.
  redis.call('XADD', KEYS[3], '*', 'event', 'implied_consent', 'at', ARGV[1], 'line', ARGV[9],
    'call_sid', ARGV[8], 'called', ARGV[5], 'outcome', outcome)
end
-- A new lead's card is the call's one post; a known lead gets a "called again" note instead.
local lead_id, new_lead, seq = attach_lead(
  KEYS[2], now, tonumber(ARGV[3]), ARGV[4], ARGV[5], 1, true)
local record = cjson.encode({
  outcome = outcome, repeat_caller = (st[4] and tonumber(st[4]) > 0) and 1 or 0,
  last_text_at = st[3] and tonumber(st[3]) or 0, lead_id = lead_id, new_lead = new_lead,
  seq = seq})
redis.call('HSET', KEYS[1], 'record', record, 'enqueued', '0')
redis.call('EXPIRE', KEYS[1], ARGV[6])
return {'new', record, '0'}
"""
)

# KEYS: inbound message record, caller hash[, ledger].
# ARGV: now, lead_seconds, new_lead_id, business_number, record_ttl, action, posts
# [, body, source, message_sid, line, twilio_answered] (with the ledger key).
# The opt-out is written here, flag and ledger entry in one step, before any reply is planned,
# so no later send can race past it.
RECORD_INBOUND_SMS = (
    _LEAD
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
RECORD_OPT_OUT = """
if redis.call('HSETNX', KEYS[1], 'opted_out', ARGV[1]) == 0 then return 0 end
local entry = {}
for i = 2, #ARGV do entry[#entry + 1] = ARGV[i] end
redis.call('XADD', KEYS[2], '*', unpack(entry))
return 1
"""

# KEYS: caller hash, parked hash. ARGV: seq, job-json.
# "done": already posted (a redelivery); "run": its turn; "parked": waits for an earlier post.
SLACK_TURN = """
local done = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
local seq = tonumber(ARGV[1])
if seq <= done then return 'done' end
if seq == done + 1 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 'run'
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 'parked'
"""

# KEYS: caller hash, parked hash. ARGV: seq. Marks seq posted; returns the next parked job or nil.
SLACK_DONE = """
local done = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
local seq = tonumber(ARGV[1])
if seq > done then redis.call('HSET', KEYS[1], 'done', seq) end
return redis.call('HGET', KEYS[2], tostring(seq + 1))
"""

# KEYS: caller hash, parked hash. ARGV: seq. A post parked too long: the one before it is not
# coming (lost before it was queued), so skip ahead rather than hold the thread forever.
SLACK_UNPARK = """
local job = redis.call('HGET', KEYS[2], ARGV[1])
if not job then return nil end
local seq = tonumber(ARGV[1])
local done = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
if seq - 1 > done then redis.call('HSET', KEYS[1], 'done', seq - 1) end
redis.call('HDEL', KEYS[2], ARGV[1])
return job
"""

# KEYS: pace key. ARGV: now, interval, burst. Returns seconds to wait before posting.
# A shared schedule per Slack channel, so every worker process together stays under the limit.
PACE = """
local now, interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local next_at = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(next_at, now - (burst - 1) * interval)
local ttl_ms = math.max(0, math.ceil((slot + interval - now) * 1000)) + 1000
redis.call('SET', KEYS[1], tostring(slot + interval), 'PX', ttl_ms)
return tostring(math.max(0, slot - now))
"""

# KEYS: pace key. ARGV: until (epoch s), seconds. Slack said 429: no post to the channel until then.
PACE_HOLD = """
local next_at = tonumber(redis.call('GET', KEYS[1]) or '0')
local hold_until = tonumber(ARGV[1])  -- 'until' is a Lua keyword
if hold_until > next_at then
  redis.call('SET', KEYS[1], tostring(hold_until), 'PX', math.ceil(ARGV[2] * 1000) + 1000)
end
return 1
"""

# KEYS: retry zset, stream. ARGV: now, limit. Moves due jobs back onto the stream atomically.
PROMOTE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, job in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'job', job)
  redis.call('ZREM', KEYS[1], job)
end
return #due
"""

# KEYS: caller hash, job marker. ARGV: respect_opt_out (1/0), marker ttl.
# One round trip before an SMS goes out: the opt-out check and the at-most-once marker.
# Returns "opted_out", "go", or the marker another delivery left ("done", "running", "failed").
SMS_START = """
if ARGV[1] == '1' and redis.call('HEXISTS', KEYS[1], 'opted_out') == 1 then return 'opted_out' end
local previous = redis.call('GET', KEYS[2])
if previous then return previous end
redis.call('SET', KEYS[2], 'running', 'EX', ARGV[2])
return 'go'
"""

# KEYS: caller hash, parked hash, job marker, lead hash. ARGV: seq, job-json, lease seconds.
# One round trip before a thread post: its turn in the thread, its lease, and the card's ts.
# Returns {state, card_ts, was_parked, lease_ms}; state: done | parked | finished | busy | run;
# lease_ms: for busy, how long the other delivery's lease still runs.
POST_START = """
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
return {'run', redis.call('HGET', KEYS[4], 'ts') or '', was_parked, 0}
"""

# KEYS: caller hash, parked hash, job marker, lead hash.
# ARGV: seq, outcome (done/failed), marker ttl, card channel, card ts, lead ttl, card's version.
# One round trip after a thread post: record it, the card's ts and the version it shows if it
# was the card, the thread's progress. Returns {the post parked behind it or '', stale}: stale
# is 1 when the lead changed after the version the card shows (read in the same step as the ts
# is written, so a change either sees the ts and queues its own update, or is counted here).
POST_FINISH = """
redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[3])
local stale = 0
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[4], 'channel', ARGV[4], 'ts', ARGV[5], 'rendered', ARGV[7])
  redis.call('EXPIRE', KEYS[4], ARGV[6])
  if tonumber(redis.call('HGET', KEYS[4], 'version') or '0') > tonumber(ARGV[7]) then
    stale = 1
  end
end
local done = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
local seq = tonumber(ARGV[1])
if seq > done then redis.call('HSET', KEYS[1], 'done', seq) end
return {redis.call('HGET', KEYS[2], tostring(seq + 1)) or '', stale}
"""

# KEYS: job marker. A reclaimed Slack post whose worker died holding the lease: free the lease
# (only a 'running' one: a 'done' marker means it was recorded, and stays).
TAKE_OVER = """
if redis.call('GET', KEYS[1]) == 'running' then return redis.call('DEL', KEYS[1]) end
return 0
"""
