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
    booked_at: float | None = None  # when it entered booked / closed (cleared when undone)
    closed_at: float | None = None

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
            booked_at=_time(h.get("booked_at")),
            closed_at=_time(h.get("closed_at")),
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
            "booked_at": _stored(self.booked_at),
            "closed_at": _stored(self.closed_at),
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


def stamped(before: LeadState, after: LeadState | None, now: float) -> LeadState | None:
    """`after` with the time it entered booked or closed, and without it once it left."""
    if after is None:
        return None

    def entered(state: str, kept: float | None) -> float | None:
        if after.state != state:
            return None
        return now if before.state != state else kept

    return replace(
        after,
        booked_at=entered("booked", after.booked_at),
        closed_at=entered("closed", after.closed_at),
    )


def mention(lead: LeadState, on_call: str | None = None) -> str:
    """Who to ping about this lead: its claimer, else the person on call (a push to their
    phone), else whoever is active in the channel right now."""
    person = lead.claimer or on_call
    return f"<@{person}>" if person else "<!here>"


@dataclass(frozen=True)
class LeadRecord:
    """Everything kept about a lead: its state (what the card shows) and the facts webhooks
    and the leads export report. Read from the same hash; written where each thing happens."""

    lead_id: str
    state: LeadState
    business_number: str = ""
    caller_name: str = ""  # Twilio's CallerName, or the name typed in the intake form
    opened_at: float | None = None
    called_at: float | None = None  # the first missed call of the lead (None: it began by text)
    texted_at: float | None = None  # the auto-text, once Twilio accepted it
    auto_text: str = ""  # sent | failed | undelivered | not_sent ("" while pending, or no call)
    auto_text_error: str = ""  # why not sent, failed or undelivered
    first_reply_at: float | None = None
    # The first crew reply that went out as a text, or call back that reached the caller.
    first_answer_at: float | None = None
    first_answer_by: str = ""  # its author's Slack id
    texts_in: int = 0  # texts from the caller
    texts_out: int = 0  # texts to the caller that Twilio accepted
    event_version: int = 0  # grows with every webhook rendering of this lead

    @classmethod
    def from_hash(cls, lead_id: str, h: dict[str, str]) -> LeadRecord:
        answered_at, _, answered_by = h.get("first_answer", "").partition("|")
        return cls(
            lead_id=lead_id,
            state=LeadState.from_hash(h),
            business_number=h.get("business_number", ""),
            caller_name=h.get("intake_name") or h.get("caller_name", ""),
            opened_at=_time(h.get("opened_at")),
            called_at=_time(h.get("called_at")),
            texted_at=_time(h.get("texted_at")),
            auto_text=h.get("auto_text", ""),
            auto_text_error=h.get("auto_text_error", ""),
            first_reply_at=_time(h.get("first_reply_at")),
            first_answer_at=_time(answered_at),
            first_answer_by=answered_by,
            texts_in=int(h.get("texts_in") or 0),
            texts_out=int(h.get("texts_out") or 0),
            event_version=int(h.get("event_version") or 0),
        )


def _time(raw: str | None) -> float | None:
    return float(raw) if raw else None


def _stored(value: float | None) -> str:
    return "" if value is None else repr(value)
