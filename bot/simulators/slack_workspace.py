"""What a Slack workspace holds (users, channels, messages, reactions, files, views) and the
Web API methods that read and change it. No HTTP here: slack.py answers the requests, checks
the token, scopes and faults, and calls these with the request's params.

Channels: a channel the simulator was never told about exists as a public channel the bot is in
(`auto_channels`, so tests that name any channel keep working); `add_channel` makes one private,
archived, or one the bot was never invited to, and `remove_channel` deletes it. Slack's answers
follow: channel_not_found for a deleted channel or a private one the bot is not in,
is_archived for writes to an archived one, not_in_channel for a post to a public channel the
bot is not in unless the token has chat:write.public.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

Params = dict[str, Any]
Payload = dict[str, Any]

BOT_USER_ID = "U0TEXTBACK"
BOT_ID = "B0TEXTBACK"
TEAM_ID = "T0TEXTBACK"
TEAM_DOMAIN = "textback-test"
API_APP_ID = "A0TEXTBACK"
MAX_TEXT = 40_000  # Slack cuts or refuses a longer message text
MAX_SECTION_TEXT = 3_000  # a longer section block makes the whole message invalid_blocks
TRIGGER_SECONDS = 3.0  # a trigger_id opens a modal only within 3 s, once

# Methods that act in a channel, the param naming it, and whether they write to it.
CHANNEL_METHODS: dict[str, tuple[str, bool]] = {
    "chat.postMessage": ("channel", True),
    "chat.update": ("channel", True),
    "chat.delete": ("channel", True),
    "chat.postEphemeral": ("channel", True),
    "chat.getPermalink": ("channel", False),
    "reactions.add": ("channel", True),
    "reactions.remove": ("channel", True),
    "conversations.info": ("channel", False),
    "files.completeUploadExternal": ("channel_id", True),
}


def err(error: str) -> Payload:
    return {"ok": False, "error": error}


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_member: bool = True
    is_archived: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": False,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_member": self.is_member,
            "created": 1_700_000_000,
            "creator": "U0ADMIN",
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }


@dataclass
class SlackUpload:
    """A file that went through getUploadURLExternal, the upload POST and completeUploadExternal."""

    file_id: str
    filename: str
    title: str | None
    data: bytes
    channel_id: str | None
    thread_ts: str | None
    initial_comment: str | None


def over_limits(p: Params) -> str | None:
    """Slack's documented limits, enforced strictly: the post is refused, not cut."""
    if len(str(p.get("text") or "")) > MAX_TEXT:
        return "msg_too_long"
    blocks = p.get("blocks") or []
    for block in json.loads(blocks) if isinstance(blocks, str) else blocks:
        text = (block.get("text") or {}).get("text", "") if block.get("type") == "section" else ""
        if len(text) > MAX_SECTION_TEXT:
            return "invalid_blocks"
    return None


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


class Workspace:
    """One workspace's content, as the bot's token sees it."""

    def __init__(self, upload_base: str = "") -> None:
        self.upload_base = upload_base  # where upload URLs point (the simulator's origin)
        self.auto_channels = True
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, Channel] = {}
        self.removed: set[str] = set()
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) -> message
        # The messages that show shared files (kept apart: `messages` holds posts).
        self.file_messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.uploads: list[SlackUpload] = []
        self.views: list[dict[str, Any]] = []  # modals opened with views.open
        self.home_views: dict[str, Any] = {}  # user id -> the App Home view last published
        self.ephemerals: list[dict[str, Any]] = []  # chat.postEphemeral and ephemeral responses
        self.reactions: set[tuple[str, str, str]] = set()  # the bot's own (channel, ts, name)
        self.deleted: set[tuple[str, str]] = set()  # (channel, ts) of messages deleted
        self.triggers: dict[str, float] = {}  # trigger ids handed out -> when (-1: used)
        self._next_ts = 1_700_000_000_000_100  # microseconds; ts strings keep equal width
        self._file_seq = 0
        self._pending_files: dict[str, dict[str, Any]] = {}

    # ---- configuration -------------------------------------------------------------

    def add_user(
        self, user_id: str, real_name: str, name: str | None = None, **flags: bool
    ) -> dict[str, Any]:
        """flags: is_admin, is_owner, is_restricted (guest), is_ultra_restricted, is_bot,
        deleted; all False unless given."""
        name = name or real_name.lower().replace(" ", ".")
        user = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": real_name,
            "deleted": False,
            "tz": "America/New_York",
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": False,
            "is_app_user": False,
            "profile": {"real_name": real_name, "display_name": name},
        }
        user.update(flags)
        self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        name: str | None = None,
        *,
        private: bool = False,
        member: bool = True,
        archived: bool = False,
    ) -> Channel:
        channel = Channel(channel_id, name or channel_id.lower(), private, member, archived)
        self.channels[channel_id] = channel
        self.removed.discard(channel_id)
        return channel

    def remove_channel(self, channel_id: str) -> None:
        """Delete the channel: every method naming it answers channel_not_found."""
        self.channels.pop(channel_id, None)
        self.removed.add(channel_id)

    def channel(self, channel_id: str) -> Channel | None:
        """The channel if it exists (creating it under auto_channels)."""
        if channel_id in self.channels:
            return self.channels[channel_id]
        if not channel_id or channel_id in self.removed or not self.auto_channels:
            return None
        return self.add_channel(channel_id)

    def new_ts(self) -> str:
        ts = f"{self._next_ts // 1_000_000}.{self._next_ts % 1_000_000:06d}"
        self._next_ts += 100
        return ts

    def new_trigger(self) -> str:
        trigger = f"{len(self.triggers) + 1}.{int(time.time())}.{secrets.token_hex(16)}"
        self.triggers[trigger] = time.monotonic()
        return trigger

    # ---- inspection ----------------------------------------------------------------

    def _shown(self) -> list[tuple[str, str, dict[str, Any]]]:
        every = {**self.messages, **self.file_messages}
        return [(channel, ts, message) for (channel, ts), message in every.items()]

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages in `channel`, oldest first (what the channel shows)."""
        found = [
            m
            for c, _, m in self._shown()
            if c == channel
            and (m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast")
        ]
        return sorted(found, key=lambda m: m["ts"])

    def thread_messages(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """Replies under `thread_ts` in `channel`, oldest first."""
        found = [
            m
            for c, ts, m in self._shown()
            if c == channel and m.get("thread_ts") == thread_ts and ts != thread_ts
        ]
        return sorted(found, key=lambda m: m["ts"])

    # ---- checks every channel method makes ---------------------------------------------

    def channel_error(self, method: str, p: Params, scopes: Collection[str]) -> str | None:
        if method not in CHANNEL_METHODS:
            return None
        param, writes = CHANNEL_METHODS[method]
        channel_id = str(p.get(param) or "")
        if not channel_id and param == "channel_id":
            return None  # a file shared nowhere
        channel = self.channel(channel_id)
        if channel is None or (channel.is_private and not channel.is_member):
            return "channel_not_found"
        if writes and channel.is_archived:
            return "is_archived"
        if method == "chat.postMessage" and not channel.is_member:
            if channel.is_private or "chat:write.public" not in scopes:
                return "not_in_channel"
        if method == "chat.postEphemeral" and not channel.is_member:
            return "not_in_channel"
        return None

    # ---- Web API methods ---------------------------------------------------------------

    def auth_test(self, _: Params) -> Payload:
        return {
            "ok": True,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Textback Test",
            "user": "textback",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def post_message(self, p: Params) -> Payload:
        channel = p.get("channel")
        if not channel:
            return err("channel_not_found")
        if not (p.get("text") or p.get("blocks") or p.get("attachments")):
            return err("no_text")
        if error := over_limits(p):
            return err(error)
        ts = self.new_ts()
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": p.get("text", ""),
            "ts": ts,
        }
        message.update(
            {k: p[k] for k in ("thread_ts", "blocks", "attachments", "metadata") if k in p}
        )
        if p.get("thread_ts") and p.get("reply_broadcast") in (True, "true", "1"):
            message["subtype"] = "thread_broadcast"  # a reply also shown in the channel
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def update(self, p: Params) -> Payload:
        key = (str(p.get("channel")), str(p.get("ts")))
        message = self.messages.get(key)
        if message is None:
            return err("message_not_found")
        if error := over_limits(p):
            return err(error)
        message.update({k: p[k] for k in ("text", "blocks", "attachments") if k in p})
        return {
            "ok": True,
            "channel": key[0],
            "ts": key[1],
            "text": message.get("text", ""),
            "message": message,
        }

    def delete(self, p: Params) -> Payload:
        key = (str(p.get("channel")), str(p.get("ts")))
        if key not in self.messages:
            return err("message_not_found")
        self.forget(*key)
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def forget(self, channel: str, ts: str) -> None:
        """A message deleted (by chat.delete or its author): its reactions go with it, and a
        reaction on it is refused with message_not_found from then on."""
        self.messages.pop((channel, ts), None)
        self.deleted.add((channel, ts))
        self.reactions.difference_update({r for r in self.reactions if r[:2] == (channel, ts)})

    def post_ephemeral(self, p: Params) -> Payload:
        if not p.get("channel"):
            return err("channel_not_found")
        if not p.get("user"):
            return err("user_not_found")
        message_ts = self.new_ts()
        self.ephemerals.append(
            {
                "channel": p["channel"],
                "user": p["user"],
                "text": p.get("text", ""),
                "blocks": _json(p.get("blocks")),
                "thread_ts": p.get("thread_ts"),
                "message_ts": message_ts,
            }
        )
        return {"ok": True, "message_ts": message_ts}

    def get_permalink(self, p: Params) -> Payload:
        channel, ts = str(p.get("channel")), str(p.get("message_ts"))
        message = self.messages.get((channel, ts))
        if message is None:
            return err("message_not_found")
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _reaction_key(self, p: Params) -> tuple[str, str, str]:
        return str(p.get("channel")), str(p.get("timestamp")), str(p.get("name"))

    def reactions_add(self, p: Params) -> Payload:
        # Real Slack rejects a duplicate reaction; the bot has to treat that as success.
        key = self._reaction_key(p)
        if key[:2] in self.deleted:
            return err("message_not_found")
        if key in self.reactions:
            return err("already_reacted")
        self.reactions.add(key)
        return {"ok": True}

    def reactions_remove(self, p: Params) -> Payload:
        key = self._reaction_key(p)
        if key[:2] in self.deleted:
            return err("message_not_found")
        if key not in self.reactions:
            return err("no_reaction")
        self.reactions.remove(key)
        return {"ok": True}

    def users_info(self, p: Params) -> Payload:
        user = self.users.get(str(p.get("user")))
        return {"ok": True, "user": user} if user else err("user_not_found")

    def users_list(self, p: Params) -> Payload:
        """Every member (deleted ones and bots included, as Slack lists them), by id, a page of
        `limit` (0: all) from `cursor`; response_metadata.next_cursor is "" on the last page."""
        members = [self.users[uid] for uid in sorted(self.users)]
        cursor = str(p.get("cursor") or "")
        start = 0
        if cursor:
            try:
                start = int(base64.b64decode(cursor).decode().removeprefix("page:"))
            except ValueError:
                return err("invalid_cursor")
        limit = int(p.get("limit") or 0)
        page = members[start : start + limit] if limit > 0 else members[start:]
        after = start + len(page)
        next_cursor = (
            base64.b64encode(f"page:{after}".encode()).decode() if after < len(members) else ""
        )
        return {
            "ok": True,
            "members": page,
            "cache_ts": int(time.time()),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def conversations_info(self, p: Params) -> Payload:
        channel = self.channel(str(p.get("channel") or ""))
        if channel is None:
            return err("channel_not_found")
        return {"ok": True, "channel": channel.to_json()}

    def views_open(self, p: Params) -> Payload:
        view = _json(p.get("view"))
        trigger = str(p.get("trigger_id") or "")
        if not trigger:
            return err("invalid_trigger_id")
        if trigger in self.triggers:  # one we handed out: 3 s, and only once
            handed_out = self.triggers[trigger]
            if handed_out < 0:
                return err("exchanged_trigger_id")
            self.triggers[trigger] = -1.0
            if time.monotonic() - handed_out > TRIGGER_SECONDS:
                return err("expired_trigger_id")
        if not isinstance(view, dict) or view.get("type") != "modal":
            return err("invalid_arguments")
        opened = {**view, "id": f"V{len(self.views) + 1:08d}"}
        self.views.append(opened)
        return {"ok": True, "view": opened}

    def views_publish(self, p: Params) -> Payload:
        user, view = p.get("user_id"), _json(p.get("view"))
        if not user or not view:
            return err("invalid_arguments")
        if error := over_limits({"blocks": view.get("blocks")}):
            return err(error)
        self.home_views[str(user)] = view
        return {"ok": True, "view": view}

    def get_upload_url(self, p: Params) -> Payload:
        if not p.get("filename") or not p.get("length"):
            return err("invalid_arguments")
        self._file_seq += 1
        file_id = f"F{self._file_seq:08d}"
        self._pending_files[file_id] = {"filename": p["filename"], "data": None}
        return {
            "ok": True,
            "file_id": file_id,
            "upload_url": f"{self.upload_base}/upload/{file_id}",
        }

    def receive_upload(self, file_id: str, data: bytes) -> bool:
        """The upload POST's bytes; False for an upload URL nobody asked for."""
        pending = self._pending_files.get(file_id)
        if pending is None:
            return False
        pending["data"] = data
        return True

    def complete_upload(self, p: Params) -> Payload:
        entries = _json(p.get("files"))
        if not entries:
            return err("invalid_arguments")
        if any(self._pending_files.get(e.get("id"), {}).get("data") is None for e in entries):
            return err("file_not_found")
        channel_id = p.get("channel_id") or (str(p.get("channels", "")).split(",")[0] or None)
        done = []
        for entry in entries:
            pending = self._pending_files.pop(entry["id"])
            upload = SlackUpload(
                entry["id"],
                pending["filename"],
                entry.get("title"),
                pending["data"],
                channel_id,
                p.get("thread_ts"),
                p.get("initial_comment"),
            )
            self.uploads.append(upload)
            done.append(
                {
                    "id": upload.file_id,
                    "name": upload.filename,
                    "title": upload.title or upload.filename,
                    "size": len(upload.data),
                }
            )
        if channel_id:
            self._share(str(channel_id), p, done)
        return {"ok": True, "files": done}

    def _share(self, channel: str, p: Params, files: list[dict[str, Any]]) -> None:
        """The message a share shows in the channel or thread (the initial comment, the files)."""
        ts = self.new_ts()
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": p.get("initial_comment") or "",
            "files": files,
            "upload": True,
            "ts": ts,
        }
        if p.get("thread_ts"):
            message["thread_ts"] = p["thread_ts"]
        self.file_messages[(channel, ts)] = message
