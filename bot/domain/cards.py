"""The lead card: Block Kit for the thread parent, rendered from the lead's current state."""

from __future__ import annotations

from typing import Any

from bot.domain import slack_text
from bot.domain.leads import LeadState
from bot.domain.phone import pretty

ACTION_IDS = {"claim": "lead_claim", "book": "lead_book", "close": "lead_close"}
EXCLUDE_ACTION = "lead_exclude"
CALL_BACK_ACTION = "lead_call_back"  # rings the tapper's phone, then the caller, from our number
LANDLINE = ":phone: Landline: can't get texts. Call them back"


def state_label(lead: LeadState) -> str:
    who = f"<@{lead.claimer}>" if lead.claimer else ""
    by = f"<@{lead.by}>" if lead.by else who
    if lead.landline and lead.state in ("new", "texted"):
        return (":rotating_light: *URGENT* · " if lead.urgent else "") + LANDLINE
    label = {
        "new": ":new: New",
        "texted": ":outbox_tray: Texted",
        "replied": ":speech_balloon: Replied",
        "opted_out": ":no_entry_sign: Opted out",
        "called_back": f":telephone_receiver: Called back by <@{lead.called_by}>",
        "claimed": f":raising_hand: Claimed by {who}",
        "booked": f":white_check_mark: Booked by {by}",
        "closed": f":heavy_multiplication_x: Closed by {by}",
    }.get(lead.state, lead.state)
    return (":rotating_light: *URGENT* · " if lead.urgent else "") + label


def fallback_text(lead: LeadState) -> str:
    """Plain text for notifications and clients that don't show blocks."""
    if lead.state == "new" and not lead.urgent:
        return lead.summary
    return f"{lead.summary}\n{state_label(lead)}"


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _section(text: str) -> str:
    return slack_text.fit(text, slack_text.MAX_SECTION_TEXT) if text else "Lead"


def how_to_reply(undo_seconds: float = 0) -> str:
    """The card's last line: what a thread reply does, and what stays in Slack."""
    line = (
        "Reply in this thread to text the caller. A reply that starts with `//` or mentions a "
        "teammate stays in Slack :lock:."
    )
    if undo_seconds > 0:
        line += (
            f" A reply waits {undo_seconds:g} s :hourglass_flowing_sand: before it goes: "
            "delete it to cancel, edit it to change it."
        )
    return line


def blocks(lead: LeadState, undo_seconds: float = 0) -> list[dict[str, Any]]:
    value = f"{lead.phone}|{lead.line}"
    buttons: list[dict[str, Any]] = []
    if lead.state not in ("claimed", "booked", "closed"):
        buttons.append(_button("Claim", ACTION_IDS["claim"], value, "primary"))
    if lead.state != "booked":
        buttons.append(_button("Mark booked", ACTION_IDS["book"], value))
    if lead.state != "closed":
        buttons.append(_button("Close", ACTION_IDS["close"], value))
    exclude = _button("Exclude this number", EXCLUDE_ACTION, value, "danger")
    exclude["confirm"] = {
        "title": {"type": "plain_text", "text": "Exclude this number?"},
        "text": {
            "type": "mrkdwn",
            "text": f"{pretty(lead.phone) if lead.phone else 'This caller'} will never get an "
            "auto-text again (calls still show up here).",
        },
        "confirm": {"type": "plain_text", "text": "Exclude"},
        "deny": {"type": "plain_text", "text": "Cancel"},
        "style": "danger",
    }
    buttons.append(exclude)
    if lead.phone:
        # From the business number, never the crew member's own: the caller sees who is calling
        # and the crew's numbers stay theirs. First when a call is the only way to reach them.
        call_back = _button(":telephone_receiver: Call back", CALL_BACK_ACTION, value)
        buttons.insert(0 if lead.landline else len(buttons) - 1, call_back)
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": _section(lead.summary)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": state_label(lead)}]},
        {"type": "actions", "block_id": "lead", "elements": buttons},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": how_to_reply(undo_seconds)}]},
    ]
