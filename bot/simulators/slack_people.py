"""What people do in the Slack workspace, and what Slack then sends the app.

Each action changes the workspace as Slack would (a posted message is kept, an edit replaces
it, a deletion removes it) and delivers the matching event, interaction or command through
slack_delivery. Message and reaction events reach the app only as Slack sends them: for events
it subscribes to (`SlackStandIn.bot_events`), with the scope each needs, from channels the bot
is a member of; otherwise the delivery is recorded as skipped, with the reason.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from bot.simulators import slack_events as shapes
from bot.simulators.slack_delivery import EventDelivery
from bot.simulators.slack_workspace import Channel

if TYPE_CHECKING:
    from bot.simulators.slack import SlackStandIn

# The subscription and the scope each event needs.
_NEEDS = {
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "reaction_added": "reactions:read",
    "reaction_removed": "reactions:read",
}

Retry = tuple[int, str] | None  # (X-Slack-Retry-Num, X-Slack-Retry-Reason)


class People:
    """Members of the workspace posting, editing, reacting, clicking and running commands."""

    def __init__(self, sim: SlackStandIn) -> None:
        self.sim = sim

    # ---- messages ---------------------------------------------------------------------

    async def send_message(
        self,
        user: str,
        channel: str,
        text: str,
        *,
        thread_ts: str | None = None,
        broadcast: bool = False,
        files: list[dict[str, Any]] | None = None,
        retry: Retry = None,
    ) -> EventDelivery:
        """`user` posts `text` (Slack's wire format: `&<>` escaped, `<@U…>` mentions, typed
        emoji as `:shortcode:`) in `channel`, or in the thread under `thread_ts`."""
        where = self._channel(channel)
        self._user(user)
        workspace = self.sim.workspace
        parent = workspace.messages.get((channel, thread_ts or ""), {})
        message = shapes.user_message(
            user, text, workspace.new_ts(), thread_ts=thread_ts, parent_user=parent.get("user")
        )
        if broadcast:
            message["subtype"] = "thread_broadcast"
        if files:
            message.update(subtype="file_share", files=files, upload=False)
        workspace.messages[(channel, message["ts"])] = message
        return await self._event(shapes.message_event(message, where), where, retry)

    async def edit_message(
        self, channel: str, ts: str, text: str, *, retry: Retry = None
    ) -> EventDelivery:
        """The message's author edits it to `text`."""
        where = self._channel(channel)
        before = self._message(channel, ts)
        edited_at = self.sim.workspace.new_ts()
        after = {
            **before,
            "text": text,
            "blocks": shapes.rich_text(text),
            "edited": {"user": before.get("user", ""), "ts": edited_at},
        }
        self.sim.messages[(channel, ts)] = after
        event = shapes.message_changed(before, after, where, edited_at)
        return await self._event(event, where, retry)

    async def delete_message(self, channel: str, ts: str, *, retry: Retry = None) -> EventDelivery:
        where = self._channel(channel)
        before = self._message(channel, ts)
        self.sim.workspace.forget(channel, ts)
        gone = {r for r in self.sim.user_reactions if r[1:3] == (channel, ts)}
        self.sim.user_reactions.difference_update(gone)
        event = shapes.message_deleted(before, where, self.sim.workspace.new_ts())
        return await self._event(event, where, retry)

    # ---- reactions --------------------------------------------------------------------

    async def react(
        self, user: str, channel: str, ts: str, name: str, *, retry: Retry = None
    ) -> EventDelivery:
        """`user` adds the emoji `name` (`eyes`, `:thumbsup:`, `+1::skin-tone-2`)."""
        return await self._reaction("reaction_added", user, channel, ts, name, retry)

    async def unreact(
        self, user: str, channel: str, ts: str, name: str, *, retry: Retry = None
    ) -> EventDelivery:
        return await self._reaction("reaction_removed", user, channel, ts, name, retry)

    async def _reaction(
        self, kind: str, user: str, channel: str, ts: str, typed: str, retry: Retry
    ) -> EventDelivery:
        where = self._channel(channel)
        self._user(user)
        message = self._message(channel, ts)
        name = shapes.reaction_name(typed)
        key = (user, channel, ts, name)
        reactions = self.sim.user_reactions
        adding = kind == "reaction_added"
        if adding == (key in reactions):
            state = "already has" if adding else "has no"
            raise ValueError(f"{user} {state} reaction {name} on {ts}")
        (reactions.add if adding else reactions.discard)(key)
        event_ts = self.sim.workspace.new_ts()
        event = shapes.reaction_event(kind, user, name, channel, ts, message.get("user"), event_ts)
        return await self._event(event, where, retry)

    # ---- interactivity and commands ------------------------------------------------------

    async def click_button(
        self, user: str, channel: str, ts: str, action_id: str, *, retry: Retry = None
    ) -> EventDelivery:
        """`user` clicks the button `action_id` on the message `ts` (it must have that button)."""
        where = self._channel(channel)
        message = self._message(channel, ts)
        found = shapes.find_button(message, action_id)
        if found is None:
            raise LookupError(f"message {ts} has no button {action_id!r}")
        payload = shapes.block_actions(
            user=self._user(user),
            channel=where,
            message=message,
            block_id=found[0],
            button=found[1],
            trigger_id=self.sim.workspace.new_trigger(),
            response_url=self.sim.events.response_url("actions", channel, user, ts),
            verification_token=self.sim.verification_token,
        )
        body = urlencode({"payload": json.dumps(payload)}).encode()
        delivery = EventDelivery("interactivity", body, "application/x-www-form-urlencoded")
        return await self.sim.events.deliver(delivery, retry)

    async def run_command(
        self, user: str, command: str, text: str = "", *, channel: str, retry: Retry = None
    ) -> EventDelivery:
        """`user` types `command text` in `channel`: a person or channel picked from Slack's
        list as `<@U…>` / `<#C…>`. Slack sends them (and links) escaped or as plain names, as
        the command's should_escape says (`SlackStandIn.command_escapes`, the manifest's)."""
        where = self._channel(channel)
        workspace = self.sim.workspace
        form = shapes.slash_command(
            command=command,
            text=shapes.command_text(
                text,
                escape=self.sim.command_escapes.get(command, False),
                user_names={uid: u["name"] for uid, u in self.sim.users.items()},
                channel_names={cid: c.name for cid, c in workspace.channels.items()},
            ),
            user=self._user(user),
            channel=where,
            trigger_id=self.sim.workspace.new_trigger(),
            response_url=self.sim.events.response_url("commands", channel, user),
            verification_token=self.sim.verification_token,
        )
        body = urlencode(form).encode()
        delivery = EventDelivery("command", body, "application/x-www-form-urlencoded")
        await self.sim.events.deliver(delivery, retry)
        self.sim.events.show_command_answer(delivery, channel, user)
        return delivery

    async def submit_view(
        self, user: str, view_id: str, values: dict[str, Any], *, retry: Retry = None
    ) -> EventDelivery:
        """`user` presses Submit on the modal `view_id` (opened with views.open), its inputs
        holding `values` (block_id -> action_id -> {"type", "value"}). The app's answer: an
        empty 200 closes the modal, {"response_action": "errors", ...} keeps it open."""
        view = next((v for v in self.sim.views if v.get("id") == view_id), None)
        if view is None:
            raise LookupError(f"no open view {view_id}")
        payload = shapes.view_submission(
            user=self._user(user),
            view=view,
            values=values,
            trigger_id=self.sim.workspace.new_trigger(),
        )
        payload["token"] = self.sim.verification_token
        body = urlencode({"payload": json.dumps(payload)}).encode()
        delivery = EventDelivery("interactivity", body, "application/x-www-form-urlencoded")
        return await self.sim.events.deliver(delivery, retry)

    # ---- plumbing ------------------------------------------------------------------------

    async def deliver_event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry: Retry = None
    ) -> EventDelivery:
        """Deliver any event as it is, in Slack's envelope (no subscription checks)."""
        envelope = shapes.envelope(
            event, event_id or shapes.new_event_id(), self.sim.verification_token
        )
        body = json.dumps(envelope).encode()
        delivery = EventDelivery("event", body, "application/json", envelope["event_id"])
        return await self.sim.events.deliver(delivery, retry)

    async def _event(self, event: dict[str, Any], channel: Channel, retry: Retry) -> EventDelivery:
        if reason := self._not_heard(event, channel):
            envelope = shapes.envelope(event, shapes.new_event_id(), self.sim.verification_token)
            body = json.dumps(envelope).encode()
            skipped = EventDelivery("event", body, "application/json", envelope["event_id"])
            skipped.skipped = reason
            self.sim.deliveries.append(skipped)
            return skipped
        return await self.deliver_event(event, retry=retry)

    def _not_heard(self, event: dict[str, Any], channel: Channel) -> str | None:
        """Why Slack would not send this event to the app (None: it would)."""
        subscription = event["type"]
        if subscription == "message":
            subscription = "message.groups" if channel.is_private else "message.channels"
        if subscription not in self.sim.bot_events:
            return f"the app does not subscribe to {subscription}"
        scope = _NEEDS.get(subscription)
        if scope and scope not in self.sim.scopes:
            return f"the token lacks {scope} (needed for {subscription})"
        if not channel.is_member:
            return "the bot is not a member of the channel"
        return None

    def _channel(self, channel_id: str) -> Channel:
        channel = self.sim.workspace.channel(channel_id)
        if channel is None:
            raise LookupError(f"no channel {channel_id}")
        return channel

    def _user(self, user_id: str) -> dict[str, Any]:
        return self.sim.users.get(user_id) or self.sim.add_user(user_id, user_id)

    def _message(self, channel: str, ts: str) -> dict[str, Any]:
        message = self.sim.messages.get((channel, ts))
        if message is None:
            raise LookupError(f"no message {ts} in {channel}")
        return message
