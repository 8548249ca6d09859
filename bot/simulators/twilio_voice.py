"""Calls as Twilio drives them: the voice webhook, a small TwiML walker, the Calls API.

The walker follows what our product uses and no more: <Say>, <Play>, <Pause>, <Hangup>,
<Reject>, <Redirect>, <Gather>, <Dial> with <Number url=...> children, and <Record>. Anything
else is noted in `CallRecord.unsupported` and skipped. A URL outside our app (PUBLIC_URL or
loopback) is not fetched: the caller hears Twilio's application error, as for a bad answer.

<Dial> as Twilio runs it: every <Number> rings at once and the first leg to answer wins; the
others are hung up (canceled). A leg with a `url` runs that TwiML on the answering phone before
the caller is connected (call screening): the leg is bridged only if that document ends without
<Hangup/>. The <Dial action> then gets DialCallStatus (completed when a leg answered, even if
the screen hung up on it; else busy if every leg was busy, failed if every leg failed,
no-answer otherwise), DialCallSid, DialCallDuration and DialBridged, and its answer is what the
caller hears next: TwiML after an actioned <Dial> never runs.

Time: by default a call takes no time at all (tests don't wait on rings). `Voice.real_time = True`
(the demo) rings as Twilio does: a <Dial> nobody answers rings its whole `timeout` before the
action is requested, and an answering phone picks up after `Voice.pick_up_after` seconds (or at
the timeout, if that comes first). Busy and failed legs end at once, as their signals do.

<Record>: the caller leaves `Voicemail(seconds, transcript)` and hangs up. Twilio then requests
the Record `action` (its answer is ignored: the caller is gone), posts recordingStatusCallback
(RecordingUrl served here behind basic auth), and, when transcribe="true" (or a
transcribeCallback is set) and the recording lasts 2 s to 120 s, the transcribeCallback.
"""

from __future__ import annotations

import asyncio
import io
import wave
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urljoin

from aiohttp import web

from bot.simulators.twilio_common import API_VERSION, new_sid, rfc2822_now, twilio_error
from bot.simulators.webhooks import Delivery

if TYPE_CHECKING:
    from bot.simulators.twilio import TwilioStandIn

# What a phone Twilio dials does: a person who answers and presses a key when asked, a
# voicemail box (answers, presses nothing), or no answer at all.
Answer = Literal["no-answer", "busy", "failed", "answer-and-press", "voicemail"]
ANSWERS: frozenset[str] = frozenset({"answer-and-press", "voicemail"})
APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
MAX_DOCUMENTS = 20  # a Redirect loop ends the call, as Twilio's own limit would
TALK_SECONDS = 42  # how long a bridged crew call lasts
PICK_UP_AFTER = 3.0  # seconds a person (or a voicemail box) lets it ring before answering


@dataclass
class Voicemail:
    """What a caller says at a <Record> before hanging up."""

    seconds: int
    transcript: str = ""
    transcription_fails: bool = False  # Twilio's transcription may fail (or never come)


@dataclass
class Caller:
    """What the person on a leg does when the TwiML asks."""

    digits: str | None = None  # pressed at a <Gather>; None: presses nothing
    voicemail: Voicemail | None = None  # left at a <Record>; None: hangs up at the beep


@dataclass
class Leg:
    """One phone a <Dial> rang."""

    number: str
    call_sid: str
    answer: Answer
    status: str = "ringing"  # completed | no-answer | busy | failed | canceled
    bridged: bool = False
    heard: list[str] = field(default_factory=list)  # what the screen said to this phone


@dataclass
class CallRecord:
    """What happened on one call, as far as the walker followed it."""

    call_sid: str
    from_: str
    to: str
    direction: str
    documents: list[tuple[str, str]] = field(default_factory=list)  # (url, TwiML)
    heard: list[str] = field(default_factory=list)  # the caller's side: <Say> text, [play URL]
    requests: list[Delivery] = field(default_factory=list)  # every request made for the call
    legs: list[Leg] = field(default_factory=list)
    dial_status: str | None = None
    dial_timeout: int | None = None  # the <Dial timeout> (Twilio's default 30 s)
    recording: dict[str, str] | None = None  # the recording status callback's params
    transcription: dict[str, str] | None = None
    unsupported: list[str] = field(default_factory=list)
    ended: str = ""  # hangup | end | error | unrouted | rejected
    status: str = ""  # the call's final CallStatus

    def posted_to(self, path: str) -> list[Delivery]:
        """Requests whose URL contains `path`."""
        return [d for d in self.requests if path in d.url]


def silent_wav(seconds: int) -> bytes:
    """`seconds` of silence, 8 kHz 8-bit mono: what a recording's URL serves here."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(8000)
        out.writeframes(b"\x80" * 8000 * seconds)
    return buffer.getvalue()


def _parse(document: str) -> ET.Element | None:
    try:
        root = ET.fromstring(document)
    except ET.ParseError:
        return None
    return root if root.tag == "Response" else None


class _Walk:
    """Follows the TwiML of one leg: fetch a document, run its verbs, go where they lead."""

    def __init__(
        self,
        voice: Voice,
        record: CallRecord,
        params: dict[str, str],
        person: Caller,
        crew: Mapping[str, Answer],
        heard: list[str],
    ) -> None:
        self.voice = voice
        self.sim = voice.sim
        self.record = record
        self.params = params  # the leg's call parameters, sent with every request
        self.person = person
        self.crew = crew
        self.heard = heard

    async def request(self, url: str, method: str, extra: Mapping[str, str]) -> Delivery:
        delivery = await self.sim.webhook(url, {**self.params, **extra}, method)
        self.record.requests.append(delivery)
        return delivery

    async def run(
        self, url: str, method: str = "POST", extra: Mapping[str, str] | None = None
    ) -> str:
        """Walk from `url` until the leg ends; returns how: hangup, end or error."""
        document: str | None = None
        for _ in range(MAX_DOCUMENTS):
            if document is None:
                delivery = await self.request(url, method, extra or {})
                document = delivery.text if delivery.ok else ""
            self.record.documents.append((url, document))
            root = _parse(document)
            if root is None:
                self.heard.append(APPLICATION_ERROR)
                return "error"
            step = await self.verbs(root, url)
            if isinstance(step, str):
                return step
            url, method, extra = step
            document = None
        return "hangup"

    async def verbs(self, root: ET.Element, url: str) -> str | tuple[str, str, dict[str, str]]:
        """Run a document's verbs: the end of the leg (a str), or the next request."""
        for verb in root:
            tag = verb.tag
            if tag in ("Say", "Play"):
                self.hear(verb)
            elif tag in ("Hangup", "Reject"):
                return "rejected" if tag == "Reject" else "hangup"
            elif tag == "Redirect":
                return urljoin(url, (verb.text or "").strip()), verb.get("method", "POST"), {}
            elif tag == "Gather":
                for inner in verb:
                    self.hear(inner)
                digits = self.person.digits
                if digits or verb.get("actionOnEmptyResult") == "true":
                    action = urljoin(url, verb.get("action") or url)
                    return action, verb.get("method", "POST"), {"Digits": digits or ""}
            elif tag == "Dial":
                outcome = await self.voice.dial(self, verb)
                if verb.get("action"):
                    return urljoin(url, verb.get("action", "")), verb.get("method", "POST"), outcome
            elif tag == "Record":
                return await self.voice.record(self, verb, url)
            elif tag == "Pause":
                continue
            else:
                self.record.unsupported.append(tag)
        return "end"

    def hear(self, verb: ET.Element) -> None:
        if verb.tag == "Say":
            self.heard.append((verb.text or "").strip())
        elif verb.tag == "Play":
            self.heard.append(f"[play {(verb.text or '').strip()}]")


class Voice:
    """Inbound calls, calls our app places through the Calls API, and their recordings."""

    def __init__(self, sim: TwilioStandIn) -> None:
        self.sim = sim
        self.calls: list[CallRecord] = []  # inbound calls, in order
        self.api_calls: list[dict[str, Any]] = []  # Calls.json creations: params, sid, record
        self.phones: dict[str, Answer] = {}  # what a dialled number does (default no-answer)
        self.real_time = False  # True: a <Dial> rings as long as it would on Twilio
        self.pick_up_after = PICK_UP_AFTER
        # Calls.json refusals by To: (HTTP status, code, message, times left; None: always).
        self._refusals: dict[str, list[Any]] = {}
        sim.app.router.add_post(f"/{API_VERSION}/Accounts/{{sid}}/Calls.json", self._create)

    def fail_calls_to(
        self,
        to: str,
        code: int = 21215,
        status: int = 400,
        message: str = "Account not authorized to call this number (geo permissions)",
        times: int | None = None,
    ) -> None:
        """Calls.json refuses to call `to` as Twilio does (21215: the account's geographic
        permissions; 21219 on a trial account; 20503 with status 503: Twilio's own trouble),
        `times` times or for good. A refused call is not placed and records no call."""
        self._refusals[to] = [status, code, message, times]

    # ---- a caller rings our number ------------------------------------------------------

    async def call_in(
        self,
        from_: str,
        to: str,
        *,
        crew: Mapping[str, Answer] | None = None,
        caller: Caller | None = None,
    ) -> CallRecord:
        if not self.sim.delivering:
            raise RuntimeError("webhooks are off: call deliver_to(app_url, public_url) first")
        record = CallRecord(new_sid("CA"), from_, to, "inbound")
        self.calls.append(record)
        params = self._params(record, "ringing")
        webhook = self.sim.numbers.voice_webhook(to)
        if webhook is None:
            record.ended, record.status = "unrouted", "no-answer"
            return record
        walk = _Walk(self, record, params, caller or Caller(), crew or {}, record.heard)
        record.ended = await walk.run(*webhook)
        await self._finish(record, params)
        return record

    def _params(self, record: CallRecord, status: str) -> dict[str, str]:
        return {
            "CallSid": record.call_sid,
            "AccountSid": self.sim.account_sid,
            "From": record.from_,
            "To": record.to,
            "Called": record.to,
            "Caller": record.from_,
            "Direction": record.direction,
            "CallStatus": status,
            "ApiVersion": API_VERSION,
        }

    async def _finish(self, record: CallRecord, params: dict[str, str]) -> None:
        """The call is over: its final status goes to the number's status callback, if any."""
        rejected = record.ended == "rejected"
        record.status = "busy" if rejected else "completed"  # any other TwiML answered it
        callback = self.sim.numbers.call_status_callback(record.to)
        if callback is not None and record.direction == "inbound":
            final = {
                **params,
                "CallStatus": record.status,
                "CallDuration": "0" if rejected else "60",
            }
            record.requests.append(await self.sim.webhook(callback[0], final, callback[1]))

    # ---- <Dial> ---------------------------------------------------------------------------

    async def dial(self, walk: _Walk, verb: ET.Element) -> dict[str, str]:
        """Ring every <Number> at once; the first to answer wins. Returns the action params."""
        record = walk.record
        record.dial_timeout = timeout = int(verb.get("timeout", "30"))
        targets = [(n.text or "").strip() for n in verb if n.tag == "Number"]
        urls = {
            (n.text or "").strip(): (n.get("url"), n.get("method", "POST"))
            for n in verb
            if n.tag == "Number"
        }
        record.unsupported.extend(n.tag for n in verb if n.tag != "Number")
        if not targets and (verb.text or "").strip():
            targets = [(verb.text or "").strip()]
        legs = [
            Leg(
                number, new_sid("CA"), walk.crew.get(number) or self.phones.get(number, "no-answer")
            )
            for number in targets
        ]
        record.legs.extend(legs)
        answering = [leg for leg in legs if leg.answer in ANSWERS]
        if self.real_time:
            await asyncio.sleep(self._ringing(timeout, legs, bool(answering)))
        for leg in legs:
            # Once a leg answers, the ones still ringing are hung up.
            still_ringing = leg.answer in ANSWERS or leg.answer == "no-answer"
            leg.status = "canceled" if answering and still_ringing else leg.answer
        if not answering:
            statuses = {leg.status for leg in legs}
            status = statuses.pop() if len(statuses) == 1 else "no-answer"
            record.dial_status = status if legs else "failed"
            first = legs[0].call_sid if legs else ""
            return {"DialCallStatus": record.dial_status, "DialCallSid": first}
        winner = answering[0]
        winner.status = "completed"
        url, method = urls.get(winner.number, (None, "POST"))
        if url:
            screen = await self._screen(walk, verb, winner, url, method)
            winner.bridged = screen == "end"
        else:
            winner.bridged = True
        record.dial_status = "completed"
        return {
            "DialCallStatus": "completed",
            "DialCallSid": winner.call_sid,
            "DialCallDuration": str(TALK_SECONDS if winner.bridged else 6),
            "DialBridged": "true" if winner.bridged else "false",
        }

    def _ringing(self, timeout: int, legs: list[Leg], answered: bool) -> float:
        """Seconds the <Dial> rings before its outcome (real_time only)."""
        if answered:
            return min(self.pick_up_after, timeout)
        if legs and all(leg.answer in ("busy", "failed") for leg in legs):
            return 0.0
        return float(timeout)

    async def _screen(self, walk: _Walk, verb: ET.Element, leg: Leg, url: str, method: str) -> str:
        """Run the <Number url> TwiML on the answering phone; "end" means connect."""
        params = {
            "CallSid": leg.call_sid,
            "ParentCallSid": walk.record.call_sid,
            "AccountSid": self.sim.account_sid,
            "From": verb.get("callerId") or walk.record.from_,
            "To": leg.number,
            "Called": leg.number,
            "Caller": verb.get("callerId") or walk.record.from_,
            "Direction": "outbound-dial",
            "CallStatus": "in-progress",
            "ApiVersion": API_VERSION,
        }
        person = Caller(digits="1" if leg.answer == "answer-and-press" else None)
        screen = _Walk(self, walk.record, params, person, {}, leg.heard)
        return await screen.run(urljoin(walk.record.documents[-1][0], url), method)

    # ---- <Record> -------------------------------------------------------------------------

    async def record(self, walk: _Walk, verb: ET.Element, url: str) -> str:
        """The caller leaves a message (or nothing) and hangs up; Twilio reports the rest."""
        message = walk.person.voicemail
        if message is None or message.seconds <= 0:
            return "hangup"
        seconds = min(message.seconds, int(verb.get("maxLength", "3600")))
        recording_sid = new_sid("RE")
        recording_url = self.sim.media.add_recording(recording_sid, silent_wav(seconds))
        recorded = {
            "RecordingSid": recording_sid,
            "RecordingUrl": recording_url,
            "RecordingDuration": str(seconds),
        }
        if verb.get("action"):
            await walk.request(
                urljoin(url, verb.get("action", "")),
                verb.get("method", "POST"),
                {**recorded, "Digits": "hangup"},
            )
        walk.record.recording = {
            **recorded,
            "RecordingStatus": "completed",
            "RecordingChannels": "1",
            "RecordingSource": "RecordVerb",
            "RecordingStartTime": rfc2822_now(),
        }
        if callback := verb.get("recordingStatusCallback"):
            method = verb.get("recordingStatusCallbackMethod", "POST")
            await walk.request(urljoin(url, callback), method, walk.record.recording)
        transcribe_to = verb.get("transcribeCallback")
        transcribe = verb.get("transcribe", "false").lower() == "true" or bool(transcribe_to)
        if transcribe and 2 <= seconds <= 120:
            transcription_sid = new_sid("TR")
            walk.record.transcription = {
                "TranscriptionSid": transcription_sid,
                "TranscriptionText": "" if message.transcription_fails else message.transcript,
                "TranscriptionStatus": "failed" if message.transcription_fails else "completed",
                "TranscriptionUrl": f"{self.sim.origin}/{API_VERSION}/Accounts/"
                f"{self.sim.account_sid}/Transcriptions/{transcription_sid}",
                "TranscriptionType": "fast",
                "RecordingSid": recording_sid,
                "RecordingUrl": recording_url,
            }
            if transcribe_to:
                await walk.request(urljoin(url, transcribe_to), "POST", walk.record.transcription)
        return "hangup"

    # ---- the Calls API --------------------------------------------------------------------

    async def _create(self, request: web.Request) -> web.Response:
        if (denied := self.sim.deny(request)) is not None:
            return denied
        form = await request.post()
        params = {k: v for k, v in form.items() if isinstance(v, str)}
        events = [v for v in form.getall("StatusCallbackEvent", []) if isinstance(v, str)]
        if not params.get("To"):
            return twilio_error(400, 21201, "No 'To' number is specified")
        if not params.get("From"):
            return twilio_error(400, 21213, "No 'From' number is specified")
        if not (params.get("Url") or params.get("Twiml") or params.get("ApplicationSid")):
            return twilio_error(400, 21205, "Url parameter is required")
        refusal = self._refusals.get(params["To"])
        if refusal is not None:
            status, code, message, times = refusal
            if times is not None:
                refusal[3] = times - 1
                if refusal[3] <= 0:
                    del self._refusals[params["To"]]
            await self.sim._simulate_latency()
            return twilio_error(status, code, message)
        record = CallRecord(new_sid("CA"), params["From"], params["To"], "outbound-api")
        created: dict[str, Any] = {**params, "StatusCallbackEvent": events}
        created.update(sid=record.call_sid, record=record)
        self.api_calls.append(created)
        await self.sim._simulate_latency()
        if self.sim.delivering:
            self.sim.spawn(self._drive(record, params, events))
        return web.json_response(self._call_json(record), status=201)

    def _call_json(self, record: CallRecord) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{self.sim.account_sid}/Calls/{record.call_sid}"
        now = rfc2822_now()
        return {
            "sid": record.call_sid,
            "account_sid": self.sim.account_sid,
            "api_version": API_VERSION,
            "to": record.to,
            "to_formatted": record.to,
            "from": record.from_,
            "from_formatted": record.from_,
            "status": "queued",
            "direction": "outbound-api",
            "parent_call_sid": None,
            "date_created": now,
            "date_updated": now,
            "start_time": None,
            "end_time": None,
            "duration": None,
            "price": None,
            "price_unit": "USD",
            "answered_by": None,
            "caller_name": None,
            "forwarded_from": None,
            "queue_time": "0",
            "trunk_sid": None,
            "uri": f"{uri}.json",
            "subresource_uris": {"recordings": f"{uri}/Recordings.json"},
        }

    async def _drive(self, record: CallRecord, created: dict[str, str], events: list[str]) -> None:
        """Place the call: ring the callee, run the TwiML if they answer, report the events."""
        callback = created.get("StatusCallback")
        wanted = set(events) or {"completed"}  # Twilio's default: only the final status

        async def report(event: str, status: str, **extra: str) -> None:
            if callback and event in wanted:
                params = {**self._params(record, status), "CallbackSource": "call-progress-events"}
                method = created.get("StatusCallbackMethod", "POST")
                delivery = await self.sim.webhook(callback, {**params, **extra}, method)
                record.requests.append(delivery)

        answer = self.phones.get(record.to, "no-answer")
        await report("initiated", "initiated")
        if answer not in ANSWERS:
            record.status = record.ended = answer
            await report("completed", answer, CallDuration="0")
            return
        await report("ringing", "ringing")
        await report("answered", "in-progress")
        person = Caller(digits="1" if answer == "answer-and-press" else None)
        walk = _Walk(self, record, self._params(record, "in-progress"), person, {}, record.heard)
        if created.get("Url"):
            record.ended = await walk.run(created["Url"], created.get("Method", "POST"))
        else:
            record.ended = await self._walk_inline(walk, created.get("Twiml", ""))
        record.status = "completed"
        await report("completed", "completed", CallDuration=str(TALK_SECONDS))

    async def _walk_inline(self, walk: _Walk, twiml: str) -> str:
        """A call created with Twiml= instead of Url=: the document is already in hand."""
        base = self.sim.public_url + "/"
        walk.record.documents.append((base, twiml))  # relative URLs resolve against PUBLIC_URL
        root = _parse(twiml)
        if root is None:
            walk.heard.append(APPLICATION_ERROR)
            return "error"
        step = await walk.verbs(root, base)
        if isinstance(step, str):
            return step
        return await walk.run(*step)
