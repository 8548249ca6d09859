"""A lead's state and how the crew moves it: pure transitions, no I/O.

New -> Texted -> Replied -> Claimed by @x -> Booked / Closed. Buttons and reactions call the same
transitions; removing a reaction undoes its transition (back to the state before it). A caller's
STOP puts an open lead in Opted out, and their START puts it back where it was. A crew
member's call back that connects is the crew's answer ("Called back by @x"); a caller who can't
get texts (a landline) is flagged so the card asks for a call.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Action = Literal["claim", "book", "close"]
ACTIONS: tuple[Action, ...] = ("claim", "book", "close")
DONE = frozenset({"booked", "closed"})
_TARGET = {"claim": "claimed", "book": "booked", "close": "closed"}


@dataclass(frozen=True)
class LeadState:
    phone: str = ""
    line: str = ""
    channel: str = ""
    ts: str = ""
    summary: str = ""
    state: str = "new"
    claimer: str = ""
    by: str = ""  # who booked or closed it
    prev_state: str = ""
    prev_claimer: str = ""
    urgent: bool = False
    version: int = 0
    card_failed: bool = False  # Slack refused the card for good: no update will find it
    rendered: int = -1  # the version the card in Slack shows
    called_by: str = ""  # whose call back reached the caller
    landline: bool = False  # the caller can't get texts: only a call reaches them
    caller_name: str = ""  # Twilio's caller name, when the number has the lookup on

    @classmethod
    def from_hash(cls, h: dict[str, str]) -> LeadState:
        return cls(
            phone=h.get("phone", ""),
            line=h.get("line", ""),
            channel=h.get("channel", ""),
            ts=h.get("ts", ""),
            summary=h.get("summary", ""),
            state=h.get("state") or "new",
            claimer=h.get("claimer", ""),
            by=h.get("by", ""),
            prev_state=h.get("prev_state", ""),
            prev_claimer=h.get("prev_claimer", ""),
            urgent=h.get("urgent") == "1",
            version=int(h.get("version") or 0),
            card_failed=h.get("card_failed") == "1",
            rendered=int(h.get("rendered") or -1),
            called_by=h.get("called_by", ""),
            landline=h.get("landline") == "1",
            caller_name=h.get("caller_name", ""),
        )

    def changes(self) -> dict[str, str]:
        """The fields a transition writes (never channel/ts/summary: those belong to the post).
        called_by and landline only once set (no transition clears them): most leads never get
        either, and two empty fields on every lead hash cost Redis memory for nothing."""
        fields = {
            "state": self.state,
            "claimer": self.claimer,
            "by": self.by,
            "prev_state": self.prev_state,
            "prev_claimer": self.prev_claimer,
            "urgent": "1" if self.urgent else "0",
        }
        if self.called_by:
            fields["called_by"] = self.called_by
        if self.landline:
            fields["landline"] = "1"
        return fields

    @property
    def open(self) -> bool:
        return self.state not in DONE


def auto_texted(lead: LeadState) -> LeadState | None:
    return replace(lead, state="texted") if lead.state == "new" else None


def caller_replied(lead: LeadState, urgent: bool = False) -> LeadState | None:
    # After a call back the caller is waiting on the crew again.
    state = "replied" if lead.state in ("new", "texted", "called_back") else lead.state
    flagged = lead.urgent or urgent
    if state == lead.state and flagged == lead.urgent:
        return None
    return replace(lead, state=state, urgent=flagged)


def caller_opted_out(lead: LeadState) -> LeadState | None:
    """STOP is no reply: the card shows Opted out (a booked or closed lead keeps its outcome)."""
    if lead.state in DONE or lead.state == "opted_out":
        return None
    return replace(lead, state="opted_out", prev_state=lead.state)


def caller_opted_in(lead: LeadState) -> LeadState | None:
    """START after STOP: the lead is back where the opt-out found it."""
    if lead.state != "opted_out":
        return None
    return replace(lead, state=lead.prev_state or "texted", prev_state="")


def called_back(lead: LeadState, user: str) -> LeadState | None:
    """`user`'s call back connected: the crew answered by phone. A claimed, booked or closed lead
    keeps its state (the call is in its thread); any other shows "Called back by @user"."""
    waiting = ("new", "texted", "replied", "called_back")
    state = "called_back" if lead.state in waiting else lead.state
    if state == lead.state and lead.called_by == user:
        return None
    return replace(lead, state=state, called_by=user)


def cannot_text(lead: LeadState) -> LeadState | None:
    """The caller can't get texts (a landline): the card asks for a call."""
    return None if lead.landline else replace(lead, landline=True)


def apply(lead: LeadState, action: Action, user: str) -> LeadState | None:
    """The lead after `user` did `action`, or None when nothing changes."""
    target = _TARGET[action]
    if lead.state == target and (action != "claim" or lead.claimer == user):
        return None
    if action == "claim" and lead.state in DONE:
        return None  # a booked or closed lead is not claimed again; undo first
    saved = replace(lead, prev_state=lead.state, prev_claimer=lead.claimer)
    if action == "claim":
        return replace(saved, state=target, claimer=user, by="")
    return replace(saved, state=target, claimer=lead.claimer or user, by=user)


def undo(lead: LeadState, action: Action, user: str) -> LeadState | None:
    """Removing a reaction: back to the state before `action`, if that is still the state."""
    if lead.state != _TARGET[action]:
        return None
    if action == "claim" and lead.claimer != user:
        return None
    back = lead.prev_state or "new"
    if back == lead.state:
        back = "replied" if action != "claim" else "new"
    return replace(
        lead, state=back, claimer=lead.prev_claimer, by="", prev_state="", prev_claimer=""
    )


def mention(lead: LeadState, on_call: str | None = None) -> str:
    """Who to ping about this lead: its claimer, else the person on call (a push to their
    phone), else whoever is active in the channel right now."""
    person = lead.claimer or on_call
    return f"<@{person}>" if person else "<!here>"
