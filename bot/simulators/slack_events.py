"""What Slack sends an app, as plain values: events in their envelope, interactivity payloads,
slash command forms. Pure: slack.py stores, signs and delivers them.

Shapes as Slack documents them: a user's message carries `text` in Slack's wire format
(`&`, `<`, `>` escaped; mentions as `<@U…>`, user groups as `<!subteam^S…>`, typed emoji as
`:shortcode:`) plus a rich_text block of the same; an edit is a `message` with subtype
message_changed (the new `message`, `previous_message`, `hidden: true`), a deletion one with
subtype message_deleted (`deleted_ts`, `previous_message`, `hidden: true`); a reaction names
its emoji without colons, a skin tone as `name::skin-tone-2`, and Slack's canonical name
(`+1` for a typed :thumbsup:).
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from typing import Any

from bot.simulators.slack_workspace import API_APP_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, Channel

Event = dict[str, Any]

# Typed names Slack stores under another canonical name (the two everyone types).
REACTION_ALIASES = {"thumbsup": "+1", "thumbsdown": "-1"}

_TOKENS = re.compile(
    r"<@(?P<user>[UW][A-Z0-9]+)(?:\|[^>]*)?>"
    r"|<!subteam\^(?P<group>S[A-Z0-9]+)(?:\|[^>]*)?>"
    r"|<!(?P<broadcast>here|channel|everyone)(?:\|[^>]*)?>"
    r"|<#(?P<channel>C[A-Z0-9]+)(?:\|[^>]*)?>"
    r"|<(?P<url>https?://[^|>]+)(?:\|(?P<label>[^>]*))?>"
    r"|:(?P<emoji>[a-z0-9_+'-]+(?:::skin-tone-[2-6])?):"
)


def new_event_id() -> str:
    return "Ev" + secrets.token_hex(5).upper()


def reaction_name(typed: str) -> str:
    """`:thumbsup::skin-tone-2:` or `thumbsup` as the event names it: `+1::skin-tone-2`."""
    name = typed.strip().strip(":")
    base, tone, rest = name.partition("::")
    return REACTION_ALIASES.get(base, base) + tone + rest


def rich_text(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack attaches to a typed message, from its wire-format text."""
    elements: list[dict[str, Any]] = []
    at = 0
    for match in _TOKENS.finditer(text):
        if match.start() > at:
            elements.append({"type": "text", "text": text[at : match.start()]})
        if match["user"]:
            elements.append({"type": "user", "user_id": match["user"]})
        elif match["group"]:
            elements.append({"type": "usergroup", "usergroup_id": match["group"]})
        elif match["broadcast"]:
            elements.append({"type": "broadcast", "range": match["broadcast"]})
        elif match["channel"]:
            elements.append({"type": "channel", "channel_id": match["channel"]})
        elif match["url"]:
            link = {"type": "link", "url": match["url"]}
            elements.append({**link, "text": match["label"]} if match["label"] else link)
        else:
            name, _, tone = match["emoji"].partition("::skin-tone-")
            emoji: dict[str, Any] = {"type": "emoji", "name": name}
            elements.append({**emoji, "skin_tone": int(tone)} if tone else emoji)
        at = match.end()
    if at < len(text):
        elements.append({"type": "text", "text": text[at:]})
    section = {"type": "rich_text_section", "elements": elements}
    return [{"type": "rich_text", "block_id": secrets.token_hex(3), "elements": [section]}]


def user_message(
    user: str, text: str, ts: str, *, thread_ts: str | None = None, parent_user: str | None = None
) -> dict[str, Any]:
    """A message as Slack stores a person's post (what conversations.history would show)."""
    message: dict[str, Any] = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "client_msg_id": str(uuid.uuid4()),
        "team": TEAM_ID,
        "blocks": rich_text(text),
    }
    if thread_ts:
        message["thread_ts"] = thread_ts
        if parent_user:
            message["parent_user_id"] = parent_user
    return message


def _where(channel: Channel) -> dict[str, str]:
    return {"channel": channel.id, "channel_type": "group" if channel.is_private else "channel"}


def message_event(message: dict[str, Any], channel: Channel) -> Event:
    return {**message, **_where(channel), "event_ts": message["ts"]}


def message_changed(
    before: dict[str, Any], after: dict[str, Any], channel: Channel, ts: str
) -> Event:
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "message": after,
        "previous_message": before,
        **_where(channel),
        "ts": ts,
        "event_ts": ts,
    }


def message_deleted(before: dict[str, Any], channel: Channel, ts: str) -> Event:
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "deleted_ts": before["ts"],
        "previous_message": before,
        **_where(channel),
        "ts": ts,
        "event_ts": ts,
    }


def reaction_event(
    kind: str, user: str, name: str, channel: str, ts: str, item_user: str | None, event_ts: str
) -> Event:
    event: Event = {
        "type": kind,
        "user": user,
        "reaction": name,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": event_ts,
    }
    if item_user:
        event["item_user"] = item_user
    return event


def envelope(event: Event, event_id: str, verification_token: str) -> dict[str, Any]:
    """The Events API wrapper around one event."""
    return {
        "token": verification_token,
        "team_id": TEAM_ID,
        "api_app_id": API_APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


def find_button(message: dict[str, Any], action_id: str) -> tuple[str, dict[str, Any]] | None:
    """(block_id, element) of the button `action_id` in a message's blocks, if it has one."""
    blocks = message.get("blocks") or []
    for block in blocks:
        elements = block.get("elements") or []
        accessory = block.get("accessory")
        for element in [*elements, *([accessory] if accessory else [])]:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id", "")), element
    return None


def block_actions(
    *,
    user: dict[str, Any],
    channel: Channel,
    message: dict[str, Any],
    block_id: str,
    button: dict[str, Any],
    trigger_id: str,
    response_url: str,
    verification_token: str,
) -> dict[str, Any]:
    """The interactivity payload of a button click on a message."""
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": channel.id,
        "is_ephemeral": False,
    }
    if message.get("thread_ts"):
        container["thread_ts"] = message["thread_ts"]
    action = {
        "type": button.get("type", "button"),
        "action_id": button["action_id"],
        "block_id": block_id,
        "text": button.get("text", {"type": "plain_text", "text": ""}),
        "action_ts": f"{time.time():.6f}",
    }
    action.update({k: button[k] for k in ("value", "style") if k in button})
    return {
        "type": "block_actions",
        "user": {
            "id": user["id"],
            "username": user["name"],
            "name": user["name"],
            "team_id": TEAM_ID,
        },
        "api_app_id": API_APP_ID,
        "token": verification_token,
        "container": container,
        "trigger_id": trigger_id,
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel.id, "name": channel.name},
        "message": message,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }


_PICKED = re.compile(
    r"<@(?P<user>[UW][A-Z0-9]+)(?:\|[^>]*)?>"
    r"|<#(?P<channel>[CG][A-Z0-9]+)(?:\|[^>]*)?>"
    r"|<(?P<link>https?://[^|>]+)(?:\|[^>]*)?>"
    r"|(?P<url>\bhttps?://[^\s<>]+)"
)


def command_text(
    typed: str, *, escape: bool, user_names: dict[str, str], channel_names: dict[str, str]
) -> str:
    """A slash command's `text` as Slack sends it, from what the person typed: `<@U…>` and
    `<#C…>` stand for a person or channel picked from the composer's list, and links are typed
    as they are. With "Escape channels, users, and links sent to your app" on (the manifest's
    should_escape: true) Slack sends `<@U…|name>`, `<#C…|name>` and links wrapped as `<https://…>`;
    with it off, the names as shown, `@name` and `#name`, and links bare."""

    def shaped(match: re.Match[str]) -> str:
        if match["user"]:
            name = user_names.get(match["user"], match["user"].lower())
            return f"<@{match['user']}|{name}>" if escape else f"@{name}"
        if match["channel"]:
            name = channel_names.get(match["channel"], match["channel"].lower())
            return f"<#{match['channel']}|{name}>" if escape else f"#{name}"
        url = match["link"] or match["url"]
        return f"<{url}>" if escape else url

    return _PICKED.sub(shaped, typed)


def view_submission(
    *, user: dict[str, Any], view: dict[str, Any], values: dict[str, Any], trigger_id: str
) -> dict[str, Any]:
    """The interactivity payload when `user` presses a modal's submit button: the view as it
    was opened, with `state.values` holding what the inputs hold (block_id -> action_id ->
    {type, value})."""
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": {
            "id": user["id"],
            "username": user["name"],
            "name": user["name"],
            "team_id": TEAM_ID,
        },
        "api_app_id": API_APP_ID,
        "token": "",
        "trigger_id": trigger_id,
        "view": {
            **view,
            "team_id": TEAM_ID,
            "app_id": API_APP_ID,
            "state": {"values": values},
            "hash": secrets.token_hex(8),
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def slash_command(
    *,
    command: str,
    text: str,
    user: dict[str, Any],
    channel: Channel,
    trigger_id: str,
    response_url: str,
    verification_token: str,
) -> dict[str, str]:
    """The form Slack posts for a slash command."""
    return {
        "token": verification_token,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel.id,
        "channel_name": channel.name if not channel.is_private else "privategroup",
        "user_id": user["id"],
        "user_name": user["name"],
        "command": command,
        "text": text,
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
