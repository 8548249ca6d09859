"""What the crew reads when a job gives up: what did not go out, and why, in plain words.

The worker gives up on a job after its last retry (outbox/worker.py's MAX_ATTEMPTS); a post
also gives up at once when Slack refuses it for good. Either way the crew hears it where they
look: the thread, and a ⚠️ on their own message when it was theirs.
"""

from __future__ import annotations

import re

from bot.domain import slack_text

_STATUS = re.compile(r"^(twilio|slack) (\d{3})\b")


def reason_in_words(reason: str) -> str:
    """A retry's reason ("twilio 503 code=20503", "slack unreachable: ClientConnectorError")
    as the crew would say it."""
    service = "Twilio" if reason.startswith("twilio") else "Slack"
    if found := _STATUS.match(reason):
        status = int(found[2])
        if status == 429:
            return f"{service} kept asking us to slow down"
        return f"{service} kept answering with an error ({status})"
    if "unreachable" in reason:
        return f"{service} could not be reached"
    if reason.startswith("slack "):
        return f"Slack kept answering {reason.removeprefix('slack ')}"
    if reason.startswith("media fetch"):
        return "the photo could not be fetched from Twilio"
    return reason


def gave_up(attempts: int, reason: str) -> str:
    """ "we tried 12 times and Twilio kept answering with an error (503)"."""
    return f"we tried {attempts} times and {reason_in_words(reason)}"


def post_not_placed(text: str, why: str) -> str:
    """A thread post that could not go in its place: the notice carries it, so nothing the
    caller wrote is lost, only late."""
    return (
        f":warning: This could not be posted in its place in the thread ({why}), "
        f"so here it is, late:\n{text}"
    )


def photo_not_placed(why: str) -> str:
    return (
        f":warning: A photo from the caller could not be brought into this thread ({why}). "
        "It is still on the message in Twilio's console."
    )


def voicemail_not_placed(why: str) -> str:
    return (
        f":warning: The caller's voicemail could not be brought into this thread ({why}). "
        "The recording is still in Twilio's console (Monitor > Logs > Call recordings)."
    )


def card_missing(error: str) -> str:
    """Above a post that had to go to the channel because its lead card can't be posted."""
    return (
        f":warning: This caller's lead card could not be posted ({slack_text.escape(error)}), "
        "so this is not in a thread."
    )
