"""Jobs: the slow work (an SMS send, a Slack post) that handlers record and the worker performs.

A job's id is derived from what caused it (a CallSid, a MessageSid, a Slack ts), so a redelivered
webhook or a re-run job maps to the same id and the worker's idempotency marker stops a double send.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Queue = Literal["sms", "slack"]
QUEUES: tuple[Queue, ...] = ("sms", "slack")


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    attempt: int = 0

    @property
    def queue(self) -> Queue:
        return "sms" if self.kind.startswith("sms.") else "slack"

    def retried(self) -> Job:
        return replace(self, attempt=self.attempt + 1)

    def to_json(self) -> str:
        value = {"id": self.id, "kind": self.kind, "data": self.data, "attempt": self.attempt}
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Job:
        value = json.loads(raw)
        return cls(id=value["id"], kind=value["kind"], data=value["data"], attempt=value["attempt"])


# --- constructors: one per kind, so the fields each kind needs are written down once ---------


@dataclass(frozen=True)
class Lead:
    """Which caller thread a Slack post belongs to, and its place in that thread's order."""

    phone: str
    line: str
    lead_id: str
    seq: int

    def as_data(self) -> dict[str, Any]:
        return {"phone": self.phone, "line": self.line, "lead_id": self.lead_id, "seq": self.seq}


def send_sms(
    job_id: str,
    *,
    to: str,
    from_: str,
    body: str,
    purpose: str,
    line: str,
    notify: dict[str, str],
    respect_opt_out: bool = True,
    react_on: dict[str, str] | None = None,
    template: str | None = None,
    template_version: str | None = None,
) -> Job:
    """notify: where a failure is reported (post_notice's channel/thread_ts/phone/lead_id);
    react_on {"channel","ts"}: the crew message that gets ✅ or ⚠️ once Twilio answers;
    template: which automated text this is (recorded in the consent ledger once sent)."""
    return Job(
        id=job_id,
        kind="sms.send",
        data={
            "to": to,
            "from": from_,
            "body": body,
            "purpose": purpose,
            "line": line,
            "respect_opt_out": respect_opt_out,
            "notify": notify,
            "react_on": react_on,
            **({"template": template} if template else {}),
            **({"template_version": template_version} if template_version else {}),
        },
    )


def then(sms: Job, follow: Job) -> Job:
    """The SMS job, carrying a job its worker queues once Twilio has answered or the send is
    held up (perform.send_sms)."""
    return replace(sms, data={**sms.data, "then": follow.to_json()})


def then_of(job: Job) -> Job | None:
    raw = job.data.get("then")
    return Job.from_json(raw) if raw else None


def post_card(job_id: str, lead: Lead, channel: str, text: str) -> Job:
    """The lead's thread parent; its ts becomes the thread every later post goes to."""
    data = {"channel": channel, "text": text, "card": True, **lead.as_data()}
    return Job(id=job_id, kind="slack.post", data=data)


def post_in_thread(
    job_id: str, lead: Lead, channel: str, text: str, blocks: list[dict[str, Any]] | None = None
) -> Job:
    data = {"channel": channel, "text": text, "card": False, **lead.as_data()}
    if blocks:
        data["blocks"] = blocks
    return Job(id=job_id, kind="slack.post", data=data)


def post_notice(
    job_id: str,
    channel: str,
    text: str,
    *,
    thread_ts: str | None = None,
    phone: str | None = None,
    lead_id: str | None = None,
) -> Job:
    """A post outside a thread's ordering: in the thread given, or the lead's thread (looked up
    when it runs), or the channel (a hidden caller ID)."""
    data = {
        "channel": channel,
        "text": text,
        "thread_ts": thread_ts,
        "phone": phone,
        "lead_id": lead_id,
    }
    return Job(id=job_id, kind="slack.notice", data=data)


def upload_media(job_id: str, lead: Lead, channel: str, url: str, content_type: str) -> Job:
    data = {"channel": channel, "url": url, "content_type": content_type, **lead.as_data()}
    return Job(id=job_id, kind="slack.upload", data=data)


def react(job_id: str, channel: str, ts: str, name: str) -> Job:
    return Job(id=job_id, kind="slack.react", data={"channel": channel, "ts": ts, "name": name})


def unpark(phone: str, line: str, seq: int) -> Job:
    """Scheduled when a post parks behind an earlier one: frees it if that one never comes."""
    return Job(
        id=f"unpark:{phone}:{line}:{seq}",
        kind="slack.unpark",
        data={"phone": phone, "line": line, "seq": seq},
    )
