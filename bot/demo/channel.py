"""The crew's Slack channel: three members post, react, click and run /textback through the
Slack simulator (delivered to the product signed, as Slack delivers), and the page sees the
channel as Slack would show it: the product's Block Kit as posted, threads, reactions (the
bot's and people's), shared photos and the answers only the member who asked can see."""

from __future__ import annotations

import json
import mimetypes
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from bot.demo.config import Member
from bot.simulators import SlackStandIn, SlackUpload
from bot.simulators.slack_events import reaction_name
from bot.simulators.slack_workspace import BOT_USER_ID

COMMAND = "/textback"
MAX_TEXT = 4000  # Slack's message box takes about this much


class ChannelError(ValueError):
    """Something a member can't do here (the page shows the message)."""


class Channel:
    def __init__(self, slack: SlackStandIn, channel_id: str, crew: Sequence[Member]) -> None:
        self.slack = slack
        self.id = channel_id
        self.crew = {member.id: member for member in crew}

    # ---- what a member does ------------------------------------------------------------

    async def post(self, user: str, text: str, thread_ts: str | None = None) -> None:
        """`user` types `text` in the channel, or in the thread under `thread_ts`."""
        self._member(user)
        if not text.strip():
            raise ChannelError("type a message first")
        if len(text) > MAX_TEXT:
            raise ChannelError(f"a message here is at most {MAX_TEXT} characters")
        if thread_ts is not None:
            self._message(thread_ts)
        # What the Slack client sends for what a person typed: &, < and > escaped.
        wire = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        await self.slack.people.send_message(user, self.id, wire, thread_ts=thread_ts)

    async def react(self, user: str, ts: str, name: str, *, remove: bool = False) -> None:
        self._member(user)
        self._message(ts)
        emoji = reaction_name(name)
        if not emoji or len(emoji) > 100:
            raise ChannelError("which emoji?")
        mine = (user, self.id, ts, emoji) in self.slack.user_reactions
        if remove != mine:
            raise ChannelError("already reacted" if mine else "no such reaction of yours")
        if remove:
            await self.slack.people.unreact(user, self.id, ts, emoji)
        else:
            await self.slack.people.react(user, self.id, ts, emoji)

    async def click(self, user: str, ts: str, action_id: str) -> None:
        self._member(user)
        self._message(ts)
        try:
            await self.slack.people.click_button(user, self.id, ts, action_id)
        except LookupError:
            raise ChannelError("that button is no longer on the message") from None

    async def delete(self, user: str, ts: str) -> None:
        """A member deletes their own message (Slack lets nobody else's go from a client)."""
        self._member(user)
        if self._message(ts).get("user") != user:
            raise ChannelError("only its author can delete a message")
        await self.slack.people.delete_message(self.id, ts)

    async def command(self, user: str, text: str) -> None:
        """`user` runs `/textback <text>` in the channel; the answer shows as Slack shows it."""
        self._member(user)
        words = text.strip()
        if words.lower().startswith(COMMAND):
            words = words[len(COMMAND) :].strip()
        elif words.startswith("/"):
            raise ChannelError(f"only {COMMAND} is installed in this workspace")
        await self.slack.people.run_command(user, COMMAND, words, channel=self.id)

    def _member(self, user: str) -> Member:
        member = self.crew.get(user)
        if member is None:
            raise ChannelError(f"{user!r} is not on the crew")
        return member

    def _message(self, ts: str) -> dict[str, Any]:
        message = self.slack.messages.get((self.id, ts))
        if message is None:
            raise ChannelError("that message is gone")
        return message

    # ---- what the channel shows --------------------------------------------------------

    def upload(self, file_id: str) -> tuple[bytes, str] | None:
        """A shared file's bytes and content type, for the page to show."""
        found: SlackUpload | None = next(
            (u for u in self.slack.uploads if u.file_id == file_id and u.channel_id == self.id),
            None,
        )
        if found is None:
            return None
        kind = mimetypes.guess_type(found.filename)[0] or "application/octet-stream"
        return found.data, kind

    def view(self) -> dict[str, Any]:
        reactions = self._reactions()
        workspace = self.slack.workspace
        messages = []
        for message in workspace.channel_messages(self.id):
            shown = _message_view(message, reactions)
            if not shown["broadcast"]:
                replies = workspace.thread_messages(self.id, message["ts"])
                shown["replies"] = [_message_view(reply, reactions) for reply in replies]
            messages.append(shown)
        names = {user_id: user["real_name"] for user_id, user in self.slack.users.items()}
        return {
            "id": self.id,
            "name": workspace.channels[self.id].name if self.id in workspace.channels else self.id,
            "users": {BOT_USER_ID: "textback", **names},
            "channels": {c.id: c.name for c in workspace.channels.values()},
            "bot": BOT_USER_ID,
            "messages": messages,
            "ephemerals": [
                {
                    "user": e["user"],
                    "text": e.get("text") or "",
                    "blocks": _blocks(e.get("blocks")),
                    "thread_ts": e.get("thread_ts"),
                }
                for e in workspace.ephemerals
                if e.get("channel") == self.id
            ],
        }

    def _reactions(self) -> dict[str, dict[str, list[str]]]:
        """ts -> emoji -> who reacted (the bot's own reactions and people's)."""
        found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for channel, ts, name in sorted(self.slack.workspace.reactions):
            if channel == self.id:
                found[ts][name].append(BOT_USER_ID)
        for user, channel, ts, name in sorted(self.slack.user_reactions):
            if channel == self.id:
                found[ts][name].append(user)
        return found


def _blocks(raw: Any) -> list[dict[str, Any]] | None:
    """A message's Block Kit as posted (slack_sdk may send it as a JSON string)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    if not isinstance(raw, list):
        return None
    blocks = [block for block in raw if isinstance(block, dict)]
    # A person's message carries a rich_text copy of its text: the text is what to show.
    if all(block.get("type") == "rich_text" for block in blocks):
        return None
    return blocks


def _message_view(
    message: dict[str, Any], reactions: dict[str, dict[str, list[str]]]
) -> dict[str, Any]:
    ts = str(message["ts"])
    return {
        "ts": ts,
        "user": message.get("user", ""),
        "bot": bool(message.get("bot_id")),
        "text": message.get("text") or "",
        "blocks": _blocks(message.get("blocks")),
        "files": [
            {
                "id": f.get("id"),
                "title": f.get("title") or f.get("name") or "file",
                "url": f"/demo/files/{f.get('id')}",
            }
            for f in message.get("files") or []
            if isinstance(f, dict)
        ],
        "reactions": [
            {"name": name, "users": users} for name, users in reactions.get(ts, {}).items()
        ],
        "broadcast": message.get("subtype") == "thread_broadcast",
        "edited": bool(message.get("edited")),
    }
