"""A voicemail's places in its caller's thread: the audio, then the transcript.

Twilio sends two callbacks per recording, in no promised order and maybe more than once: the
recording's status (RecordingSid, its URL and length) and, later or never, the transcription
(which names the recording too). Whichever comes first plans the audio, so the audio always
takes the earlier place in the thread and the transcript a later one; each is planned once per
RecordingSid.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from storage.callers import RECORD_TTL
from storage.keys import Keys

# KEYS: voicemail hash, caller hash. ARGV: what came (audio | drop | transcript), transcription
# sid, post the transcript (1/0), ttl. Returns {lead_id or '', audio seq or 0, transcript seq
# or 0}: the places to queue now (0: nothing to queue for it). A part planned before but never
# marked queued (its webhook's process died before queueing) is handed out again, at the same
# place, to the callback that repeats it.
_PLAN = """
local lead_id = redis.call('HGET', KEYS[1], 'lead_id') or redis.call('HGET', KEYS[2], 'lead_id')
if not lead_id then return {'', 0, 0} end
local function unqueued(part)
  if redis.call('HGET', KEYS[1], part .. '_queued') then return 0 end
  return tonumber(redis.call('HGET', KEYS[1], part .. '_seq') or '0')
end
local audio, transcript = 0, 0
local again_audio, again_transcript = 0, 0
if ARGV[1] == 'drop' then
  redis.call('HSETNX', KEYS[1], 'audio', 'dropped')
elseif ARGV[1] == 'audio' then
  audio = redis.call('HSETNX', KEYS[1], 'audio', 'planned')
  if audio == 0 then again_audio = unqueued('audio') end
elseif redis.call('HSETNX', KEYS[1], 'transcript', ARGV[2]) == 1 then
  -- The transcript came first: it names the recording, so the audio is planned now, before it.
  audio = redis.call('HSETNX', KEYS[1], 'audio', 'planned')
  transcript = tonumber(ARGV[3])
else
  again_audio, again_transcript = unqueued('audio'), unqueued('transcript')
end
redis.call('HSET', KEYS[1], 'lead_id', lead_id)
redis.call('EXPIRE', KEYS[1], ARGV[4])
local count = audio + transcript
if count == 0 then return {lead_id, again_audio, again_transcript} end
local last = redis.call('HINCRBY', KEYS[2], 'seq', count)
local audio_seq, transcript_seq = again_audio, again_transcript
if audio == 1 then
  audio_seq = last - count + 1
  redis.call('HSET', KEYS[1], 'audio_seq', audio_seq)
end
if transcript == 1 then
  transcript_seq = last
  redis.call('HSET', KEYS[1], 'transcript_seq', transcript_seq)
end
return {lead_id, audio_seq, transcript_seq}
"""


@dataclass(frozen=True)
class VoicemailPlan:
    lead_id: str  # empty: the caller has no lead on the line (nothing to post into)
    audio_seq: int  # the audio's place, when this callback planned it (else 0)
    transcript_seq: int  # the transcript's place, when this callback planned it (else 0)


class Voicemails:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._plan = redis.register_script(_PLAN)

    async def recorded(self, phone: str, line: str, recording_sid: str) -> VoicemailPlan:
        """The recording is complete: its audio's place, unless a transcript planned it."""
        return await self._run(phone, line, recording_sid, "audio")

    async def dropped(self, phone: str, line: str, recording_sid: str) -> VoicemailPlan:
        """A hang-up at the beep: nothing to post, now or when another callback repeats it."""
        return await self._run(phone, line, recording_sid, "drop")

    async def transcribed(
        self, phone: str, line: str, recording_sid: str, transcription_sid: str, has_text: bool
    ) -> VoicemailPlan:
        """The transcription came (has_text: something to post): its place after the audio's,
        and the audio's too when this came first."""
        return await self._run(
            phone, line, recording_sid, "transcript", transcription_sid, int(has_text)
        )

    async def queued(self, phone: str, recording_sid: str, plan: VoicemailPlan) -> None:
        """The planned parts are on the outbox: a repeated callback hands them out no more."""
        key = self.keys.voicemail(phone, recording_sid)
        pipe = self.redis.pipeline(transaction=False)
        for part, seq in (("audio", plan.audio_seq), ("transcript", plan.transcript_seq)):
            if seq:
                pipe.hset(key, f"{part}_queued", "1")
        await pipe.execute()

    async def _run(
        self, phone: str, line: str, recording_sid: str, what: str, sid: str = "", text: int = 0
    ) -> VoicemailPlan:
        keys = [self.keys.voicemail(phone, recording_sid), self.keys.caller(phone, line)]
        lead_id, audio, transcript = await self._plan(keys=keys, args=[what, sid, text, RECORD_TTL])
        return VoicemailPlan(str(lead_id), int(audio), int(transcript))
