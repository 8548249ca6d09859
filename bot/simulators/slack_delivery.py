"""How Slack delivers to an app: signed requests, 3 s to answer, retries, response URLs.

Every request is signed as Slack signs (`v0=` HMAC-SHA256 over `v0:{timestamp}:{body}`, a fresh
timestamp each attempt). An answer that is not a 2xx within 3 s is a failed delivery; Slack
retries it up to 3 times with the same body and event_id, adding X-Slack-Retry-Num and
X-Slack-Retry-Reason (http_timeout, http_error, connection_failed), unless the app answered
`X-Slack-No-Retry: 1`. Retries here happen when the test asks (`redeliver`) or, with
`auto_retry_delays` set, in the background after those delays (Slack's own: about 0 s, 1 min,
5 min).

A response_url (slash commands and button clicks) takes 5 posts within 30 minutes: an
`in_channel` response posts in the channel, `replace_original`/`delete_original` change the
clicked message, anything else is ephemeral. Each post is recorded in `ResponseUrl.posts`.
A slash command's own answer (the body of the app's 2xx) is shown the same way: a message
payload (`text`, `blocks`) as an ephemeral to whoever ran it, or in the channel with
`response_type: in_channel`; a plain-text body as an ephemeral; an empty body shows nothing.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.simulators.signing import slack_headers
from bot.simulators.slack_workspace import BOT_ID, BOT_USER_ID, TEAM_ID
from bot.simulators.webhooks import Delivery, send

if TYPE_CHECKING:
    from bot.simulators.slack import SlackStandIn

ACK_SECONDS = 3.0
MAX_RETRIES = 3
RESPONSE_URL_USES = 5
RESPONSE_URL_SECONDS = 30 * 60


@dataclass
class EventDelivery:
    """One event, interaction or command Slack sent (or chose not to send) to the app."""

    kind: str  # "event" | "interactivity" | "command"
    body: bytes
    content_type: str
    event_id: str | None = None
    attempts: list[Delivery] = field(default_factory=list)
    skipped: str | None = None  # why Slack sent nothing (e.g. the bot is not in the channel)

    @property
    def last(self) -> Delivery | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def status(self) -> int | None:
        return self.last.status if self.last else None

    @property
    def ok(self) -> bool:
        return self.last is not None and self.last.ok

    @property
    def text(self) -> str:
        """The body of the app's last answer."""
        return self.last.text if self.last else ""

    @property
    def retry_reason(self) -> str:
        """What Slack would put in X-Slack-Retry-Reason for the last failed attempt."""
        last = self.last
        if last is None or last.error == "timeout":
            return "http_timeout"
        return "connection_failed" if last.error else "http_error"

    @property
    def payload(self) -> Any:
        if self.content_type == "application/json":
            return json.loads(self.body)
        return self.body.decode()


@dataclass
class ResponseUrl:
    url: str
    channel: str
    user: str  # who ran the command or clicked: an ephemeral response is for them
    message_ts: str | None  # the clicked message, for an action's response_url
    created: float = field(default_factory=time.monotonic)
    posts: list[dict[str, Any]] = field(default_factory=list)


class EventSender:
    """Delivers to the app at `app_url` and serves the response URLs it hands out."""

    def __init__(self, sim: SlackStandIn) -> None:
        self.sim = sim
        self.app_url: str | None = None
        self.signing_secret = ""
        self.path = "/slack/events"  # events, interactivity and commands (our manifest)
        self.ack_seconds = ACK_SECONDS
        self.auto_retry_delays: tuple[float, ...] | None = None
        self.deliveries: list[EventDelivery] = []
        self.response_urls: dict[str, ResponseUrl] = {}
        sim.app.router.add_post("/hooks/{kind}/{key}", self._respond)

    @property
    def failed(self) -> list[EventDelivery]:
        """Deliveries whose last attempt got no 2xx within 3 s (Slack would retry those)."""
        return [d for d in self.deliveries if d.attempts and not d.ok]

    def response_url(
        self, kind: str, channel: str, user: str, message_ts: str | None = None
    ) -> str:
        url = f"{self.sim.origin}/hooks/{kind}/{TEAM_ID}{secrets.token_hex(8)}"
        self.response_urls[url] = ResponseUrl(url, channel, user, message_ts)
        return url

    async def deliver(
        self,
        delivery: EventDelivery,
        retry: tuple[int, str] | None = None,
    ) -> EventDelivery:
        if self.app_url is None:
            raise RuntimeError("events are off: call deliver_to(app_url, signing_secret) first")
        self.deliveries.append(delivery)
        await self._attempt(delivery, retry)
        if not delivery.ok and self.auto_retry_delays and retry is None:
            self.sim.spawn(self._retry_later(delivery))
        return delivery

    async def redeliver(self, delivery: EventDelivery) -> EventDelivery:
        """Slack's next retry of a failed delivery: same body, the next X-Slack-Retry-Num."""
        await self._attempt(delivery, (len(delivery.attempts), delivery.retry_reason))
        return delivery

    async def _attempt(self, delivery: EventDelivery, retry: tuple[int, str] | None) -> None:
        assert self.app_url is not None
        headers = {
            "Content-Type": delivery.content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **slack_headers(self.signing_secret, delivery.body),
        }
        if retry is not None:
            headers["X-Slack-Retry-Num"] = str(retry[0])
            headers["X-Slack-Retry-Reason"] = retry[1]
        attempt = await send(
            self.sim.session,
            url=self.app_url + self.path,
            target=self.app_url + self.path,
            body=delivery.body,
            headers=headers,
            seconds=self.ack_seconds,
        )
        delivery.attempts.append(attempt)

    async def _retry_later(self, delivery: EventDelivery) -> None:
        for delay in (self.auto_retry_delays or ())[:MAX_RETRIES]:
            last = delivery.last
            if delivery.ok or (last and last.response_headers.get("X-Slack-No-Retry") == "1"):
                return
            await asyncio.sleep(delay)
            await self.redeliver(delivery)

    def show_command_answer(self, delivery: EventDelivery, channel: str, user: str) -> None:
        """What Slack shows for a slash command's immediate answer, once the app gave a 2xx."""
        last = delivery.last
        if last is None or not delivery.ok or not last.text.strip():
            return
        content_type = next(
            (v for k, v in last.response_headers.items() if k.lower() == "content-type"), ""
        )
        answer: Any = {"text": last.text}
        if content_type.startswith("application/json"):
            try:
                answer = json.loads(last.text)
            except ValueError:
                pass  # Slack shows a body it can't parse as the text it is
        if isinstance(answer, dict) and any(answer.get(k) for k in ("text", "blocks")):
            self._apply(ResponseUrl("", channel, user, None), answer)

    # ---- response_url -----------------------------------------------------------------

    async def _respond(self, request: web.Request) -> web.Response:
        hook = self.response_urls.get(str(request.url.with_query(None)))
        if hook is None:
            return web.json_response({"ok": False, "error": "invalid_url"}, status=404)
        if time.monotonic() - hook.created > RESPONSE_URL_SECONDS:
            return web.json_response({"ok": False, "error": "expired_url"}, status=404)
        if len(hook.posts) >= RESPONSE_URL_USES:
            return web.json_response({"ok": False, "error": "used_url"}, status=404)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"ok": False, "error": "invalid_payload"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"ok": False, "error": "invalid_payload"}, status=400)
        hook.posts.append(body)
        self._apply(hook, body)
        return web.Response(text="ok")

    def _apply(self, hook: ResponseUrl, body: dict[str, Any]) -> None:
        workspace = self.sim.workspace
        original = (hook.channel, hook.message_ts or "")
        if body.get("delete_original") and original in workspace.messages:
            del workspace.messages[original]
        elif body.get("replace_original") and original in workspace.messages:
            workspace.messages[original].update(
                {k: body[k] for k in ("text", "blocks", "attachments") if k in body}
            )
        elif body.get("response_type") == "in_channel":
            ts = workspace.new_ts()
            message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts}
            message.update({k: body[k] for k in ("text", "blocks", "thread_ts") if k in body})
            workspace.messages[(hook.channel, ts)] = message
        else:
            workspace.ephemerals.append(
                {
                    "channel": hook.channel,
                    "user": hook.user,
                    "text": body.get("text", ""),
                    "blocks": body.get("blocks"),
                    "thread_ts": body.get("thread_ts"),
                    "message_ts": None,
                }
            )
