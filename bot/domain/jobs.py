"""Jobs: the slow work (a text, a Slack post) that flows plan and the outbox carries out.

Plain data: one frozen dataclass per kind of work (its payload), wrapped in a Job that carries
the id and the attempt. A job's id is derived from what caused it (a CallSid, a MessageSid, a
Slack ts), so a redelivered webhook or a re-run job maps to the same id and the worker's
idempotency marker stops a double send.

Serialised in one place (Job.to_json / Job.from_json). from_json also reads the flat shape the
previous release queued, so a job waiting on a retry across an upgrade is carried out, not lost.
"""

from __future__ import annotations

import json
import types
from dataclasses import MISSING, dataclass, fields, is_dataclass, replace
from functools import cache
from typing import Any, ClassVar, Literal, Union, get_args, get_origin, get_type_hints

# Three queues, so none waits behind another: a Slack backlog never delays a text, and a slow
# or dead webhook receiver delays neither.
Queue = Literal["sms", "slack", "webhooks"]
QUEUES: tuple[Queue, ...] = ("sms", "slack", "webhooks")
Blocks = list[dict[str, Any]]


# --- where things go ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadThread:
    """A caller's lead on a line, and the channel its thread is in.

    The thread itself is the lead card's ts, looked up when a post runs: the card may still be
    on its way to Slack when later posts are planned."""

    phone: str
    line: str
    lead_id: str
    channel: str

    def at(self, seq: int) -> Place:
        return Place(self, seq)


@dataclass(frozen=True)
class Place:
    """A post's place in its lead's thread: posts go out strictly in seq order."""

    lead: LeadThread
    seq: int


@dataclass(frozen=True)
class SlackThread:
    """A thread known by its ts (a crew reply's), or the channel itself when ts is None."""

    channel: str
    ts: str | None = None


@dataclass(frozen=True)
class SlackMessage:
    """One Slack message: the crew reply that gets ✅ or ⚠️."""

    channel: str
    ts: str


# --- payloads: one per kind of work ------------------------------------------------------------


@dataclass(frozen=True)
class SendSms:
    """A text from a business number. report_to: where a failure is told (the lead's thread, in
    its order, or a known thread); react_on: the crew message that gets ✅ or ⚠️; template: which
    automated text this is (recorded in the consent ledger once sent); then: a job the sms worker
    queues once Twilio has answered (a new lead's card, so it shows how the text went).
    A crew reply also has answers (the lead whose reminder clock stops once it goes), held
    (it waited out the undo window under a ⏳ on react_on, which goes when it is sent) and
    sent_note (said in report_to's thread once it is sent: what the emoji cost)."""

    KIND: ClassVar[str] = "sms.send"
    to: str
    from_: str
    body: str
    purpose: str
    line: str
    report_to: LeadThread | SlackThread
    respect_opt_out: bool = True
    react_on: SlackMessage | None = None
    template: str | None = None
    template_version: str | None = None
    then: Job | None = None
    answers: LeadThread | None = None
    held: bool = False
    sent_note: str | None = None
    author: str | None = None  # a crew reply's writer (Slack id): told to webhook receivers

    @property
    def lead(self) -> LeadThread | None:
        """The lead this text belongs to, if any (what its webhooks and counts are about)."""
        return self.report_to if isinstance(self.report_to, LeadThread) else self.answers


@dataclass(frozen=True)
class ThreadPost:
    """A post at its place in a lead's thread; the card is the thread's parent."""

    KIND: ClassVar[str] = "slack.post"
    place: Place
    text: str
    card: bool = False
    blocks: Blocks | None = None
    broadcast: bool = False  # also shown in the channel (an urgent text)


@dataclass(frozen=True)
class MediaUpload:
    """A caller's photo, fetched from Twilio and uploaded at its place in the thread."""

    KIND: ClassVar[str] = "slack.upload"
    place: Place
    url: str
    content_type: str


@dataclass(frozen=True)
class Notice:
    """A post outside a thread's order: in the thread given, or the lead's thread (its card's
    ts looked up when it runs), or the channel."""

    KIND: ClassVar[str] = "slack.notice"
    channel: str
    text: str
    thread_ts: str | None = None
    lead: LeadThread | None = None
    blocks: Blocks | None = None


@dataclass(frozen=True)
class Reaction:
    """The bot's reaction on a message: added, or (remove) taken off again."""

    KIND: ClassVar[str] = "slack.react"
    message: SlackMessage
    name: str
    remove: bool = False


@dataclass(frozen=True)
class CardUpdate:
    """Re-render a lead card from its state when this runs. crew: caused by the crew (a button,
    a reaction), so it takes the crew's lane of chat.update's budget."""

    KIND: ClassVar[str] = "slack.update"
    phone: str
    lead_id: str
    crew: bool = False


@dataclass(frozen=True)
class PlaceCall:
    """A crew member's call back from the business number (Twilio's Calls API): their phone rings
    first and only a key press dials the caller. At most once, like a text: a stranger is never
    rung twice. call_back: the record its webhooks find it by (storage/call_backs.py)."""

    KIND: ClassVar[str] = "call.place"
    call_back: str
    lead: LeadThread
    crew_user: str
    crew_phone: str
    from_: str  # the business number: the caller ID both phones see


@dataclass(frozen=True)
class LineTypeLookup:
    """Twilio Lookup's line type of a caller's number (paid per lookup), cached for 30 days."""

    KIND: ClassVar[str] = "lookup.line_type"
    phone: str


@dataclass(frozen=True)
class VoicemailUpload:
    """A caller's voicemail, fetched from Twilio and uploaded at its place in the thread.
    seconds: None when only the transcription named the recording (read from the audio then);
    claimer: mentioned in the heading, as on the caller's texts."""

    KIND: ClassVar[str] = "slack.voicemail"
    place: Place
    recording_sid: str
    url: str
    seconds: int | None = None
    claimer: str | None = None


@dataclass(frozen=True)
class Ephemeral:
    """A message only `user` sees, in the channel (chat.postEphemeral): an answer to a button."""

    KIND: ClassVar[str] = "slack.ephemeral"
    channel: str
    user: str
    text: str


@dataclass(frozen=True)
class Unpark:
    """Scheduled when a post parks behind an earlier one: frees it if that one never comes."""

    KIND: ClassVar[str] = "slack.unpark"
    phone: str
    line: str
    seq: int


@dataclass(frozen=True)
class WebhookEvent:
    """Something receivers hear about. When it runs, the lead is read as it is then (with a
    version that grows with each reading), the claimer's name and the thread's link are
    added, and one WebhookDelivery per URL of the line is queued with that one body.

    id: the webhook-id (derived from the cause). facts: the event's own (a message's text, a
    form's fields, who acted), plain JSON values. waited: it already waited for the lead's
    card once (so a link to the thread could go with it). only: one URL instead of the line's."""

    KIND: ClassVar[str] = "webhook.event"
    id: str
    type: str
    at: float
    line: str
    phone: str | None = None
    lead_id: str | None = None
    facts: dict[str, Any] | None = None
    waited: bool = False
    only: str | None = None


@dataclass(frozen=True)
class WebhookDelivery:
    """One event to one URL, with its own retries: a signed POST of `body`."""

    KIND: ClassVar[str] = "webhook.deliver"
    event_id: str
    url: str
    body: str
    line: str


Payload = (
    SendSms
    | ThreadPost
    | MediaUpload
    | Notice
    | Reaction
    | CardUpdate
    | Unpark
    | PlaceCall
    | LineTypeLookup
    | VoicemailUpload
    | Ephemeral
    | WebhookEvent
    | WebhookDelivery
)
_BY_KIND: dict[str, type[Any]] = {
    kind.KIND: kind
    for kind in (
        SendSms,
        ThreadPost,
        MediaUpload,
        Notice,
        Reaction,
        CardUpdate,
        Unpark,
        PlaceCall,
        LineTypeLookup,
        VoicemailUpload,
        Ephemeral,
        WebhookEvent,
        WebhookDelivery,
    )
}
# Work against Twilio goes on the "sms" queue, so it never waits behind a slow Slack; work
# against webhook receivers on "webhooks", so a slow or dead receiver delays neither.
_TWILIO_WORK = (SendSms, PlaceCall, LineTypeLookup)
_WEBHOOK_WORK = (WebhookEvent, WebhookDelivery)


@dataclass(frozen=True)
class HeldTurn:
    """A pacing turn the job holds until its attempt `attempt` runs (see outbox/pacing.py)."""

    attempt: int
    at: float


@dataclass(frozen=True)
class Job:
    id: str
    payload: Payload
    attempt: int = 0
    turn: HeldTurn | None = None

    @property
    def kind(self) -> str:
        return self.payload.KIND

    @property
    def queue(self) -> Queue:
        if isinstance(self.payload, _TWILIO_WORK):
            return "sms"
        if isinstance(self.payload, _WEBHOOK_WORK):
            return "webhooks"
        return "slack"

    def retried(self) -> Job:
        return replace(self, attempt=self.attempt + 1)

    def holding(self, turn_at: float) -> Job:
        """The job as it comes back for the turn it holds, at its current attempt."""
        return replace(self, turn=HeldTurn(self.attempt, turn_at))

    def to_dict(self) -> dict[str, Any]:
        value = {"v": 2, "id": self.id, "kind": self.kind, "attempt": self.attempt}
        value["data"] = _encode(self.payload)
        if self.turn is not None:
            value["turn"] = _encode(self.turn)
        return value

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> Job:
        kind = _BY_KIND[value["kind"]]
        if value.get("v") != 2:
            return _previous_release(value, kind)
        turn = value.get("turn")
        return cls(
            id=value["id"],
            payload=_decode(kind, value["data"]),
            attempt=value["attempt"],
            turn=_decode(HeldTurn, turn) if turn else None,
        )

    @classmethod
    def from_json(cls, raw: str) -> Job:
        return cls.from_dict(json.loads(raw))


# --- serialisation ------------------------------------------------------------------------------

_WIRE_NAMES = {"from_": "from"}  # a Python keyword as a field name


def _encode(value: Any) -> Any:
    if isinstance(value, Job):
        return value.to_dict()
    if is_dataclass(value) and not isinstance(value, type):
        return {
            wire: _encode(v)
            for name, wire, _ in _shape(type(value))[0]
            if (v := getattr(value, name)) is not None
        }
    return value


def _decode(kind: Any, raw: Any) -> Any:
    if raw is None:
        return None
    if kind is Job:
        return Job.from_dict(raw)
    if get_origin(kind) in (Union, types.UnionType):
        options = [option for option in get_args(kind) if option is not type(None)]
        if len(options) == 1:
            return _decode(options[0], raw)
        # Unions of dataclasses: the first whose required fields are all present.
        for option in options:
            if (
                isinstance(option, type)
                and is_dataclass(option)
                and _shape(option)[1] <= raw.keys()
            ):
                return _decode(option, raw)
        raise ValueError(f"no type of {kind} fits {sorted(raw)}")
    if isinstance(kind, type) and is_dataclass(kind):
        found = {
            name: _decode(hint, raw[wire]) for name, wire, hint in _shape(kind)[0] if wire in raw
        }
        return kind(**found)
    return raw


@cache
def _shape(kind: type) -> tuple[tuple[tuple[str, str, Any], ...], frozenset[str]]:
    """A dataclass's fields as (name, wire name, type) and its required wire names: worked out
    once per class (get_type_hints evaluates every annotation; jobs are read on the hot path)."""
    hints = get_type_hints(kind)
    named = tuple((f.name, _WIRE_NAMES.get(f.name, f.name), hints[f.name]) for f in fields(kind))
    required = frozenset(
        _WIRE_NAMES.get(f.name, f.name)
        for f in fields(kind)
        if f.default is MISSING and f.default_factory is MISSING
    )
    return named, required


def _previous_release(value: dict[str, Any], kind: type[Any]) -> Job:
    """A job queued by the release before typed jobs: its data was one flat dict. That release
    served one line ("default"), which is the line a notice's lead is read on."""
    d = value["data"]

    def place() -> Place:
        return Place(LeadThread(d["phone"], d["line"], d["lead_id"], d["channel"]), d["seq"])

    payload: Payload
    if kind is SendSms:
        notify = d["notify"]
        report_to: LeadThread | SlackThread
        if notify.get("thread_ts") or not (notify.get("phone") and notify.get("lead_id")):
            report_to = SlackThread(notify["channel"], notify.get("thread_ts"))
        else:
            report_to = LeadThread(notify["phone"], d["line"], notify["lead_id"], notify["channel"])
        react_on = d.get("react_on")
        payload = SendSms(
            to=d["to"],
            from_=d["from"],
            body=d["body"],
            purpose=d["purpose"],
            line=d["line"],
            report_to=report_to,
            respect_opt_out=d["respect_opt_out"],
            react_on=SlackMessage(react_on["channel"], react_on["ts"]) if react_on else None,
            template=d.get("template"),
            template_version=d.get("template_version"),
            then=Job.from_json(d["then"]) if d.get("then") else None,
        )
    elif kind is ThreadPost:
        payload = ThreadPost(
            place(), d["text"], bool(d["card"]), d.get("blocks"), bool(d.get("broadcast"))
        )
    elif kind is MediaUpload:
        payload = MediaUpload(place(), d["url"], d["content_type"])
    elif kind is Notice:
        lead = None
        if d.get("phone") and d.get("lead_id"):
            lead = LeadThread(d["phone"], "default", d["lead_id"], d["channel"])
        payload = Notice(d["channel"], d["text"], d.get("thread_ts"), lead, d.get("blocks"))
    elif kind is Reaction:
        payload = Reaction(SlackMessage(d["channel"], d["ts"]), d["name"])
    elif kind is CardUpdate:
        payload = CardUpdate(d["phone"], d["lead_id"], bool(d.get("crew")))
    else:
        payload = Unpark(d["phone"], d["line"], d["seq"])
    turn = None
    if "slot_for_attempt" in d:
        turn = HeldTurn(int(d["slot_for_attempt"]), float(d.get("turn_at") or 0))
    return Job(id=value["id"], payload=payload, attempt=value["attempt"], turn=turn)


@dataclass(frozen=True)
class SentText:
    """What a text we sent was for, kept under its MessageSid for its delivery status callback."""

    to: str
    line: str
    purpose: str
    report_to: LeadThread | SlackThread
    react_on: SlackMessage | None = None

    @classmethod
    def of(cls, sms: SendSms) -> SentText:
        return cls(sms.to, sms.line, sms.purpose, sms.report_to, sms.react_on)

    def to_json(self) -> str:
        return json.dumps(_encode(self), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> SentText:
        value = json.loads(raw)
        if "notify" in value:  # kept by the previous release
            legacy = {"kind": SendSms.KIND, "id": "", "attempt": 0, "data": value}
            legacy["data"] = {**value, "from": "", "body": "", "respect_opt_out": True}
            sms = _previous_release(legacy, SendSms).payload
            assert isinstance(sms, SendSms)
            return cls.of(sms)
        decoded: SentText = _decode(cls, value)
        return decoded
