"""A crew member calls a caller back from the business number: what each side hears and what the
thread says. Pure.

The crew member's phone rings first (Twilio's Calls API, from the business number); they hear
who is being called and press a key; only then is the caller dialled, with the business number
as caller ID. A voicemail answering the crew member's phone presses nothing, so it never calls
the caller. Whether the caller answered, and for how long, is the caller's leg's: the <Dial
action>'s DialCallStatus and DialCallDuration (the crew member's own leg reports completed
either way).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import slack_text
from bot.domain.phone import pretty, spoken

HOLD_SECONDS = 120  # a tap holds the caller this long (ringing both phones), so taps don't stack
TALK_HOLD_SECONDS = 3_700  # once connected, until the call ends (timeLimit is an hour)
TIME_LIMIT = 3_600  # seconds a call back may last (<Dial timeLimit>)
CREW_RING_SECONDS = 25  # the crew member's phone rings this long (their voicemail: no key)
PRESS_SECONDS = 8  # the prompt waits this long for a key
RECORD_SECONDS = 86_400  # a call back's record outlives any call

# The caller's leg, as the <Dial action> reports it, in the thread's words.
_NOT_REACHED = {
    "no-answer": "no answer",
    "busy": "the line was busy",
    "failed": "the call could not be connected (a wrong or disconnected number?)",
    "canceled": "the call was hung up before they answered",
}
# The crew member's own leg, when it ended before the caller was dialled.
_CREW_NOT_REACHED = {
    "no-answer": "your phone didn't answer, so they weren't called",
    "busy": "your phone was busy, so they weren't called",
    "failed": "your phone couldn't be reached, so they weren't called",
    "canceled": "the call to your phone was cancelled, so they weren't called",
    "completed": "no key was pressed on your phone (voicemail?), so they weren't called",
}
# What the crew member hears once the caller's leg ended.
_SPOKEN = {
    "completed": "The call has ended. Goodbye.",
    "no-answer": "They didn't answer. Goodbye.",
    "busy": "Their line is busy. Goodbye.",
    "failed": "The call could not be connected. Goodbye.",
}


@dataclass(frozen=True)
class CallBack:
    """One tap of Call back: who calls whom, from which number, about which lead."""

    id: str
    phone: str  # the caller, to be called back
    line: str
    lead_id: str
    channel: str
    user: str  # the crew member's Slack id
    crew_phone: str
    business_number: str
    callee: str  # what the crew member hears: the caller's name, or their number spoken
    pressed: bool = False

    def to_hash(self) -> dict[str, str]:
        return {
            "phone": self.phone,
            "line": self.line,
            "lead_id": self.lead_id,
            "channel": self.channel,
            "user": self.user,
            "crew_phone": self.crew_phone,
            "business_number": self.business_number,
            "callee": self.callee,
        }

    @classmethod
    def from_hash(cls, call_back_id: str, h: dict[str, str]) -> CallBack:
        return cls(
            id=call_back_id,
            phone=h["phone"],
            line=h["line"],
            lead_id=h["lead_id"],
            channel=h["channel"],
            user=h["user"],
            crew_phone=h["crew_phone"],
            business_number=h["business_number"],
            callee=h["callee"],
            pressed=h.get("pressed") == "1",
        )


def callee(phone: str, name: str | None) -> str:
    """Who the crew member hears they are calling: the caller's name, else their number."""
    words = " ".join((name or "").split())[:40]
    return words if any(c.isalpha() for c in words) else spoken(phone)


def prompt(business: str, who: str) -> str:
    return f"Call for {business}: calling {who}. Press any key to connect."


def spoken_result(dial_status: str) -> str:
    return _SPOKEN.get(dial_status, "Goodbye.")


def duration(seconds: int) -> str:
    """2 min 31 s; 42 s; 1 h 2 min."""
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def dialled(user: str, dial_status: str, seconds: int) -> str:
    """The thread's line once the caller's leg ended."""
    if dial_status == "completed":
        return f":telephone_receiver: <@{user}> called back · {duration(seconds)}"
    reason = _NOT_REACHED.get(dial_status, f"Twilio reported {slack_text.inline(dial_status)}")
    return f":telephone_receiver: <@{user}> tried to call back: {reason}"


def not_dialled(user: str, call_status: str) -> str:
    """The thread's line when the crew member's own leg ended before the caller was dialled."""
    reason = _CREW_NOT_REACHED.get(call_status, _CREW_NOT_REACHED["failed"])
    return f":telephone_receiver: <@{user}> tried to call back: {reason}"


def not_placed(user: str, reason: str) -> str:
    return f":warning: Call back not placed (<@{user}>): {reason}."


def register_first() -> str:
    return (
        "To call back from the business number, register your phone once: "
        "`/textback me phone <your number>` (any common form, e.g. (202) 555-0123). "
        "Tapping *Call back* then rings your phone first; press any key when you answer and "
        "you are connected to the caller, who sees the business number."
    )


def ringing_you(crew_phone: str, phone: str) -> str:
    return (
        f":telephone_receiver: Calling your phone {pretty(crew_phone)} now. Answer and press any "
        f"key to be connected to {pretty(phone)}; they'll see the business number."
    )


def someone_else_calling(holder: str) -> str:
    return f"<@{holder}> is calling this caller back right now."
