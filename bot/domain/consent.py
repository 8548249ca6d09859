"""Consent rules and words: the disclosure text, opt-out-like phrases, how ledger entries read.

Pure functions, no I/O. A keyword (STOP, UNSUBSCRIBE, ...) is always honoured (keywords.py);
other wording that reads like an opt-out is only flagged for a person to decide (FCC: judged by
a reasonable person), never acted on silently.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain import slack_text
from bot.domain.jobs import Job, Place, ThreadPost
from bot.domain.phone import pretty


@dataclass(frozen=True)
class LedgerEntry:
    phone: str
    id: str  # the stream id: orders entries, and is Redis's own time of writing
    event: str
    at: float  # epoch seconds, our clock
    detail: dict[str, str] = field(default_factory=dict)  # everything else the entry holds


RECORD_OPT_OUT_ACTION = "record_opt_out"

DISCLOSURE = (
    "I agree to receive texts from {business} about my request. "
    "Msg & data rates may apply. Reply STOP to opt out."
)


def disclosure(business: str) -> str:
    """The exact consent text shown next to the intake form's checkbox (and kept in the ledger)."""
    return DISCLOSURE.format(business=business)


# --- opt-out-like wording --------------------------------------------------------------------

_VERBS = r"(?:text|txt|message|msg|contact|call|sms|email|send)\w*"
_PHRASES = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^\W*(?:please\W+|pls\W+)?stop\b",
        rf"\bstop\s+(?:\w+\s+)?{_VERBS}",
        r"\bstop\s+(?:the\s+|these\s+|your\s+)?(?:texts|messages|msgs)\b",
        r"\b(?:remove|delete|take)\s+(?:me|my\s+(?:number|name|#))\b",
        r"\bunsubscribe\b",
        r"\bopt(?:ing)?[\s-]?(?:me\s+)?out\b",
        r"\bwrong\s+(?:number|person|#)\b",
        rf"\b(?:do\s+not|don'?t|dont|never)\s+(?:\w+\s+){{0,2}}{_VERBS}",
        r"\bno\s+more\s+(?:texts|messages|msgs)\b",
        r"\bleave\s+me\s+alone\b",
        r"\blose\s+my\s+number\b",
    )
]


def opt_out_phrase(body: str) -> str | None:
    """The wording that reads like an opt-out, or None. Never decides: the crew does."""
    text = body.replace("\u2019", "'").replace("\u2018", "'")
    for pattern in _PHRASES:
        found = pattern.search(text)
        if found:
            return found.group(0).strip()
    return None


def opt_out_flag(place: Place, message_sid: str, phrase: str) -> Job:
    """A post in the caller's thread with a one-tap button that records the opt-out."""
    lead = place.lead
    value = json.dumps({"phone": lead.phone, "line": lead.line, "sid": message_sid})
    text = (
        f":raised_hand: This reads like an opt-out (“{slack_text.inline(phrase)}”) but isn't a "
        "keyword, so nothing was recorded. If they want no more texts, record it:"
    )
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": RECORD_OPT_OUT_ACTION,
                    "style": "danger",
                    "text": {"type": "plain_text", "text": "Record opt-out"},
                    "value": value,
                    "confirm": {
                        "title": {"type": "plain_text", "text": "Record opt-out?"},
                        "text": {
                            "type": "mrkdwn",
                            "text": "No more texts will go to this number until they text START.",
                        },
                        "confirm": {"type": "plain_text", "text": "Record opt-out"},
                        "deny": {"type": "plain_text", "text": "Cancel"},
                    },
                }
            ],
        },
    ]
    return Job(f"in:{message_sid}:optout-flag", ThreadPost(place, text, blocks=blocks))


def crew_opt_out_note(user_id: str, recorded: bool) -> str:
    if not recorded:
        return f":information_source: <@{user_id}>: this number had already opted out."
    return (
        f":octagonal_sign: Opt-out recorded by <@{user_id}>. No more texts will be sent to this "
        "number until they text START."
    )


# --- reading the ledger ----------------------------------------------------------------------

_NAMES = {
    "implied_consent": "Called (implied consent)",
    "text_sent": "Automated text sent",
    "explicit_consent": "Explicit consent (intake form)",
    "opt_out": "Opted out",
    "opt_in": "Opted back in",
}

EXPORT_FIELDS = (
    "phone",
    "at",
    "event",
    "line",
    "source",
    "message",
    "call_sid",
    "called",
    "outcome",
    "template",
    "version",
    "message_sid",
    "purpose",
    "disclosure",
    "ip",
    "forwarded_for",
    "user_agent",
    "token",
    "entry_id",
)


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def export_row(entry: LedgerEntry) -> dict[str, str]:
    """One flat row for CSV/JSON: the fixed columns, then anything else the entry held."""
    row = {name: "" for name in EXPORT_FIELDS}
    row.update(entry.detail)
    row.update(phone=entry.phone, at=iso(entry.at), event=entry.event, entry_id=entry.id)
    return row


def _describe(entry: LedgerEntry) -> str:
    d = entry.detail
    parts: list[str] = []
    if entry.event == "implied_consent":
        parts.append(f"called {pretty(d['called'])}" if d.get("called") else "")
        parts.append(f"CallSid {d.get('call_sid', '?')}")
    elif entry.event == "text_sent":
        parts.append(f"{d.get('template', '?')} template, version {d.get('version', '?')}")
    elif entry.event == "explicit_consent":
        parts.append(f"“{d.get('disclosure', '')}”")
        parts.append(f"IP {d.get('ip') or '?'}")
    elif entry.event in ("opt_out", "opt_in"):
        parts.append(f"source {d.get('source') or '?'}")
        if d.get("message"):
            parts.append(f"message “{d['message'][:200]}”")
    return slack_text.escape(" · ".join(p for p in parts if p))


def history_text(
    phone: str, entries: list[LedgerEntry], total: int, zone: ZoneInfo, opted_out: bool
) -> str:
    head = f"*Consent history for {pretty(phone)}*"
    head += " · currently *opted out*" if opted_out else ""
    if not entries:
        return f"{head}\nNothing recorded for this number."
    lines = [head]
    if total > len(entries):
        lines.append(
            f"_(latest {len(entries)} of {total}; `python -m bot consent export` has all)_"
        )
    for entry in entries:
        when = datetime.fromtimestamp(entry.at, zone).strftime("%Y-%m-%d %H:%M %Z")
        name = _NAMES.get(entry.event, entry.event)
        detail = _describe(entry)
        lines.append(f"• `{when}` *{name}*" + (f" · {detail}" if detail else ""))
    return "\n".join(lines)
