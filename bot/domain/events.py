"""What happened (a missed call, a caller's text, a crew reply) and what the store decided.

Handlers parse webhooks into these; flows hand them, with the store's decision, to the plans.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.keywords import Action


@dataclass(frozen=True)
class MissedCall:
    call_sid: str
    caller: str | None  # E.164, None when caller ID is hidden or invalid
    business_number: str
    at: datetime  # aware
    caller_name: str | None = None


@dataclass(frozen=True)
class InboundText:
    message_sid: str
    caller: str
    business_number: str
    body: str
    action: Action
    twilio_answered: bool  # Twilio's own opt-out handling already replied (OptOutType set)
    at: datetime
    media: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (url, content type)

    @property
    def posts(self) -> int:
        """Places this text takes in the thread: the message, then one per photo."""
        return 1 + len(self.media)


@dataclass(frozen=True)
class CrewReply:
    """A crew member's message in a thread, as the caller would read it."""

    channel: str
    ts: str
    thread_ts: str
    text: str  # plain, typed emoji as characters (slack_text.for_caller); empty for a file alone
    files: int = 0  # photos and files attached: Slack's are private, so they cannot be texted
    internal: bool = False  # for the crew (`//`, a teammate mentioned): it stays in Slack
    typed: str = (
        ""  # the plain text with emoji as typed (:+1:): what the emoji cost is told against
    )
    user: str = ""  # who wrote it (Slack user id)


@dataclass(frozen=True)
class CrewEdit:
    """A crew message edited in Slack (message_changed): how it reads now, and before."""

    reply: CrewReply
    was_internal: bool
    changed: bool  # the words changed (Slack also sends message_changed when a link unfurls)
    seconds_after: float  # how long after it was written (Slack's own clock)


@dataclass(frozen=True)
class CrewDeletion:
    """A crew message deleted in Slack (message_deleted)."""

    channel: str
    ts: str
    thread_ts: str
    was_internal: bool


@dataclass(frozen=True)
class Claim:
    """What the store decided, in one atomic step, for one CallSid or one inbound MessageSid."""

    key: str  # the record's key; its "enqueued" field is set once the jobs are on the outbox
    duplicate: bool
    record: dict[str, Any]
    enqueued: bool = False

    @property
    def outcome(self) -> str:
        return str(self.record.get("outcome", ""))

    @property
    def lead_id(self) -> str:
        return str(self.record["lead_id"])

    @property
    def new_lead(self) -> bool:
        return bool(self.record["new_lead"])

    @property
    def seq(self) -> int:
        return int(self.record["seq"])

    @property
    def settled(self) -> bool:
        """A redelivery whose jobs are already queued. One whose first delivery died before
        queueing is planned again: job ids derive from the webhook, so nothing goes out twice."""
        return self.duplicate and self.enqueued
