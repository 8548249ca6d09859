"""Voicemail, for a line that wants it (VOICEMAIL): what the caller hears, how it shows in the
thread. Pure.

Most callers won't leave one, so the text still goes first: the auto-text is decided and queued
at the missed dial exactly as without voicemail. The recording then lands in the caller's
thread as audio, and Twilio's transcript (when one comes: recordings of 2 s to 2 minutes, and
it may fail) below it, as a quote. A voicemail counts as the caller's reply.
"""

from __future__ import annotations

from bot.domain import slack_text

MAX_SECONDS = 120  # <Record maxLength>: Twilio transcribes up to 2 minutes
MIN_SECONDS = 2  # shorter is a hang-up at the beep, dropped

# What the caller hears before the beep, by the missed call's outcome: "we'll text you" only
# when a text is really going out; a landline is promised a call instead.
_BEFORE_THE_BEEP = {
    "send": "Sorry we missed your call. Leave a message after the tone, "
    "or just hang up and we'll text you.",
    "landline": "Sorry we missed your call. Leave a message after the tone, "
    "or just hang up and we'll call you back shortly.",
}
_NO_PROMISE = "Sorry we missed your call. Leave a message after the tone."
THANKS = "Thank you. We got your message. Goodbye."


def before_the_beep(outcome: str) -> str:
    return _BEFORE_THE_BEEP.get(outcome, _NO_PROMISE)


def clock(seconds: int) -> str:
    """0:23, 2:00."""
    minutes, rest = divmod(max(0, seconds), 60)
    return f"{minutes}:{rest:02d}"


def heading(seconds: int | None, claimer: str | None = None) -> str:
    """The line above the audio in the thread."""
    length = f" ({clock(seconds)})" if seconds is not None else ""
    who = f" (for <@{claimer}>)" if claimer else ""
    return f":vhs: *Voicemail*{length}{who}"


def transcript(text: str, claimer: str | None = None) -> str:
    """Twilio's transcript: the caller's words, escaped and quoted like any text of theirs."""
    who = f" (for <@{claimer}>)" if claimer else ""
    return f":memo: *Voicemail transcript*{who}:\n{slack_text.quote(text)}"
