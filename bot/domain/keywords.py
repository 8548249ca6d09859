"""What an inbound text asks for: opt out, opt back in, help, or just a message for the crew."""

from __future__ import annotations

import re
from typing import Literal

Action = Literal["opt_out", "opt_in", "help", "message"]

# FCC and CTIA keywords; a whole message of one of these, in any case, is always honoured.
OPT_OUT = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"}
)
OPT_IN = frozenset({"START", "UNSTOP", "YES"})
HELP = frozenset({"HELP", "INFO"})

# Twilio's OptOutType when its own opt-out handling matched (and already answered the caller).
_TWILIO_TYPES: dict[str, Action] = {"STOP": "opt_out", "START": "opt_in", "HELP": "help"}

_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
_SPACES = re.compile(r"\s+")


def normalise(body: str) -> str:
    """' Stop! ' -> 'STOP'; 'opt   out.' -> 'OPT OUT'."""
    return _SPACES.sub(" ", _EDGES.sub("", body.strip())).upper()


def effective(action: Action, was_opted_out: bool) -> Action:
    """A START word opts back in only a caller who had opted out; from anyone else ("Yes" to
    the crew's question) it is an ordinary reply, relayed and waiting for an answer."""
    return "message" if action == "opt_in" and not was_opted_out else action


def classify(body: str, twilio_opt_out_type: str | None = None) -> Action:
    if twilio_opt_out_type:
        known = _TWILIO_TYPES.get(twilio_opt_out_type.strip().upper())
        if known:
            return known
    word = normalise(body)
    if word in OPT_OUT:
        return "opt_out"
    if word in OPT_IN:
        return "opt_in"
    if word in HELP:
        return "help"
    return "message"
