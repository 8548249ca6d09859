"""The caller's phone: it calls and texts the business through the Twilio simulator, and shows
what a phone would: the texts it sent and got (Twilio's own STOP/HELP replies among them, as
Twilio sends them), and each call as the caller lived it (ringing, what they heard, how it ended).
"""

from __future__ import annotations

import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.domain.phone import pretty
from bot.simulators import Caller, TwilioStandIn, Voicemail
from bot.simulators.twilio_messages import TextIn
from bot.simulators.twilio_voice import Answer, CallRecord

Choice = Literal["no-answer", "answer", "voicemail"]
# What the crew's phone does for each choice on the page. A voicemail box answers but presses
# no key: the product's call screening counts that call as missed.
CREW_ANSWERS: dict[str, Answer] = {
    "no-answer": "no-answer",
    "answer": "answer-and-press",
    "voicemail": "voicemail",
}
MAX_BODY = 1600  # Twilio's limit for one text
MAX_VOICEMAIL = 500
PHOTO_TYPE = "image/png"


class PhoneError(ValueError):
    """Something the phone can't do (the page shows the message)."""


@dataclass
class SentText:
    number: str  # the caller's number it went from
    body: str
    photo: bool
    at: float  # wall clock, when it left the phone
    record: TextIn | None = None  # what Twilio did with it, once done
    error: str | None = None


@dataclass
class PlacedCall:
    number: str
    choice: Choice
    at: float
    index: int  # its place in the simulator's list of calls
    done: bool = False
    error: str | None = None


class Phone:
    def __init__(
        self,
        twilio: TwilioStandIn,
        business: str,
        crew_phone: str,
        numbers: Sequence[str],
        photo: bytes,
    ) -> None:
        if not numbers:
            raise ValueError("the phone needs a number")
        self.twilio = twilio
        self.business = business
        self.crew_phone = crew_phone
        self.numbers = tuple(numbers)
        self.number = self.numbers[0]
        self.photo = photo
        self.texts: list[SentText] = []
        self.calls: list[PlacedCall] = []
        self._received_at: dict[str, float] = {}  # message sid -> wall clock

    @property
    def on_a_call(self) -> bool:
        return any(not call.done for call in self.calls)

    def new_caller(self) -> str:
        """The phone becomes another caller's (the next number), to try it all again."""
        if self.on_a_call:
            raise PhoneError("hang on: this phone is still on a call")
        at = self.numbers.index(self.number) + 1
        if at >= len(self.numbers):
            raise PhoneError("no more demo callers: restart the demo for a fresh start")
        self.number = self.numbers[at]
        return self.number

    # ---- what the caller does ------------------------------------------------------------

    def call(self, choice: Choice, voicemail: str = "") -> Coroutine[Any, Any, None]:
        """Place a call to the business now (the phone shows it at once); the crew's phone
        does what `choice` says. Returns the call itself: run it, it lasts as long as the call
        does (the ring included)."""
        if choice not in CREW_ANSWERS:
            raise PhoneError(f"choose one of: {', '.join(CREW_ANSWERS)}")
        if self.on_a_call:
            raise PhoneError("this phone is already on a call")
        if len(voicemail) > MAX_VOICEMAIL:
            raise PhoneError(f"a voicemail here is at most {MAX_VOICEMAIL} characters")
        words = voicemail.strip()
        message = Voicemail(max(3, min(120, len(words.split()) // 2 + 2)), words) if words else None
        placed = PlacedCall(self.number, choice, time.time(), len(self.twilio.voice.calls))
        self.calls.append(placed)
        # Whoever the business puts on the line (a voicemail prompt, once the product records
        # one), the caller says this; without words they hang up at the beep.
        return self._ring(placed, Caller(voicemail=message if choice == "voicemail" else None))

    async def _ring(self, placed: PlacedCall, caller: Caller) -> None:
        try:
            await self.twilio.call_in(
                placed.number,
                self.business,
                crew={self.crew_phone: CREW_ANSWERS[placed.choice]},
                caller=caller,
            )
        except Exception as exc:
            placed.error = f"the call failed: {type(exc).__name__}"
            raise
        finally:
            placed.done = True

    async def text(self, body: str, photo: bool = False) -> None:
        if not body.strip() and not photo:
            raise PhoneError("type a message or attach the photo")
        if len(body) > MAX_BODY:
            raise PhoneError(f"a text is at most {MAX_BODY} characters")
        sent = SentText(self.number, body, photo, time.time())
        self.texts.append(sent)
        media = [(self.photo, PHOTO_TYPE)] if photo else []
        try:
            sent.record = await self.twilio.text_in(sent.number, self.business, body, media=media)
        except Exception as exc:
            sent.error = f"not delivered: {type(exc).__name__}"
            raise

    # ---- what the phone shows ------------------------------------------------------------

    def view(self) -> dict[str, Any]:
        entries = [*self._texts_sent(), *self._texts_received(), *self._calls()]
        entries.sort(key=lambda entry: entry["at"])
        return {
            "number": self.number,
            "pretty": pretty(self.number),
            "business": {"number": self.business, "pretty": pretty(self.business)},
            "on_a_call": self.on_a_call,
            "timeline": entries,
        }

    def _texts_sent(self) -> list[dict[str, Any]]:
        shown = []
        for sent in self.texts:
            if sent.number != self.number:
                continue
            state = "failed" if sent.error else "sending" if sent.record is None else "sent"
            shown.append(
                {
                    "kind": "text",
                    "dir": "out",
                    "body": sent.body,
                    "photo": sent.photo,
                    "at": sent.at,
                    "state": state,
                    "error": sent.error,
                }
            )
            record = sent.record
            if record is None:
                continue
            # Twilio answers a keyword itself before our app hears of the text.
            if record.auto_reply:
                shown.append(_received(record.auto_reply, sent.at + 0.001, by="twilio"))
            for reply in record.twiml_replies:
                shown.append(_received(reply, sent.at + 0.002, by="business"))
        return shown

    def _texts_received(self) -> list[dict[str, Any]]:
        """What the business sent this phone through the Messages API (accepted by Twilio)."""
        return [
            _received(
                str(message.get("Body") or ""),
                self._wall_clock(message),
                by="business",
                media=len(message.get("MediaUrl") or []),
            )
            for message in self.twilio.messages_to(self.number)
        ]

    def _wall_clock(self, message: dict[str, Any]) -> float:
        """When Twilio took the send, on the wall clock (the simulator keeps monotonic time);
        worked out once, so the page sees the same time on every poll."""
        sid = str(message["sid"])
        if sid not in self._received_at:
            self._received_at[sid] = time.time() - (time.monotonic() - float(message["at"]))
        return self._received_at[sid]

    def _calls(self) -> list[dict[str, Any]]:
        shown = []
        for placed in self.calls:
            if placed.number != self.number:
                continue
            records = self.twilio.voice.calls
            record = records[placed.index] if placed.index < len(records) else None
            shown.append(
                {
                    "kind": "call",
                    "at": placed.at,
                    "choice": placed.choice,
                    "stage": _stage(placed, record),
                    "heard": list(record.heard) if record else [],
                    "crew_heard": _crew_heard(record),
                    "outcome": _outcome(placed, record) if placed.done else "",
                    "ring_seconds": record.dial_timeout if record else None,
                }
            )
        return shown


def _received(body: str, at: float, *, by: str, media: int = 0) -> dict[str, Any]:
    return {"kind": "text", "dir": "in", "body": body, "at": at, "by": by, "media": media}


def _stage(placed: PlacedCall, record: CallRecord | None) -> str:
    if placed.done:
        return "ended"
    if record is None or not record.legs:
        return "calling"
    return "ringing" if record.dial_status is None else "talking"


def _crew_heard(record: CallRecord | None) -> list[str]:
    if record is None:
        return []
    return [words for leg in record.legs for words in leg.heard]


def _outcome(placed: PlacedCall, record: CallRecord | None) -> str:
    if placed.error or record is None:
        return placed.error or "the call did not go through"
    if record.ended == "error":
        return "The business's line answered with an application error"
    if any(leg.bridged for leg in record.legs):
        return "The crew took the call"
    voicemail = any(leg.answer == "voicemail" for leg in record.legs)
    missed = "The crew's voicemail picked up" if voicemail else "Nobody picked up"
    if record.recording:
        seconds = record.recording.get("RecordingDuration", "?")
        return f"{missed}; you left a {seconds}-second message"
    return missed
