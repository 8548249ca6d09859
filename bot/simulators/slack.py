"""Slack simulator: the Web API our app calls, and the deliveries Slack makes to our app.

Web API: enough of https://slack.com/api/ for slack_sdk's AsyncWebClient. slack_sdk sends some
methods as JSON (chat.*), others as query-string params on a POST (reactions.add, files.*) or
a GET (users.info, conversations.info), so every request's query, form and JSON body are merged
into one params dict. Every answer to a valid token carries `x-oauth-scopes` (the token's
scopes, by default the bot scopes of manifests/slack.yaml) and, for the methods listed in
METHOD_SCOPES, `x-accepted-oauth-scopes`; `enforce_scopes` turns a missing scope into
`missing_scope`. `token_error` (invalid_auth, token_revoked, account_inactive) makes every call
fail as a revoked or deactivated token does, until it is set back to None. The workspace's
content and the methods themselves are in slack_workspace.

Deliveries (off until `deliver_to(app_url, signing_secret)`): what people do in Slack,
`sim.people.send_message / edit_message / delete_message / react / unreact / click_button /
run_command` (slack_people), reaches the app as Slack sends it (payloads in slack_events,
signing, the 3 s limit, retries and response URLs in slack_delivery). Slack sends message and
reaction events only from channels the bot is in, for events the app subscribes to
(`bot_events`, the manifest's) with the scope they need.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from bot.simulators._server import LoopbackServer
from bot.simulators.slack_delivery import EventSender
from bot.simulators.slack_people import People
from bot.simulators.slack_workspace import (
    Channel,
    Params,
    Payload,
    SlackUpload,
    Workspace,
)
from bot.simulators.slack_workspace import err as _err

DEFAULT_TOKEN = "xoxb-test"
# The bot scopes in manifests/slack.yaml (tests/test_sim_slack.py checks they match).
BOT_SCOPES = frozenset(
    {
        "chat:write",
        "commands",
        "channels:read",
        "groups:read",
        "reactions:read",
        "reactions:write",
        "channels:history",
        "groups:history",
        "users:read",
        "files:read",
        "files:write",
    }
)
# The manifest's slash commands and their should_escape ("Escape channels, users, and links").
COMMAND_ESCAPES = {"/textback": True}
# The manifest's bot_events.
BOT_EVENTS = frozenset(
    {"message.channels", "message.groups", "reaction_added", "reaction_removed", "app_home_opened"}
)
# Scopes a method accepts (any one will do), as x-accepted-oauth-scopes lists them.
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "reactions.add": ("reactions:write",),
    "reactions.remove": ("reactions:write",),
    "users.info": ("users:read",),
    "users.list": ("users:read",),
    "conversations.info": ("channels:read", "groups:read", "im:read", "mpim:read"),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
}
TOKEN_ERRORS = frozenset({"invalid_auth", "token_revoked", "account_inactive", "not_authed"})

__all__ = ["BOT_SCOPES", "COMMAND_ESCAPES", "SlackCall", "SlackStandIn", "SlackUpload"]


@dataclass
class SlackCall:
    """One request to /api/<method>, successful or not."""

    method: str
    params: Params
    at: float  # time.monotonic() on arrival
    status: int = 200
    error: str | None = None  # the "error" of an ok=false answer

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass
class _Fault:
    status: int
    error: str
    retry_after: int
    remaining: int


class SlackStandIn(LoopbackServer):
    """Loopback Slack. Pass `url` as AsyncWebClient(base_url=...)."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        users: Mapping[str, str] | None = None,
        channels: Mapping[str, str] | None = None,
        latency: float = 0.0,
        rate_limit_per_channel: float | None = None,
        rate_limit_burst: int = 1,
        scopes: Sequence[str] = tuple(BOT_SCOPES),
    ) -> None:
        super().__init__(latency)
        self.token = token
        self.token_error: str | None = None  # every call fails with it (a revoked token)
        self.scopes: set[str] = set(scopes)
        self.enforce_scopes = False
        self.bot_events: set[str] = set(BOT_EVENTS)
        # Per command: does Slack escape people, channels and links in its text (should_escape)?
        self.command_escapes: dict[str, bool] = dict(COMMAND_ESCAPES)
        self.verification_token = "simulated-verification-token"  # deprecated, still sent
        self.workspace = Workspace()
        for user_id, real_name in (users or {}).items():
            self.add_user(user_id, real_name)
        for channel_id, name in (channels or {}).items():
            self.add_channel(channel_id, name)
        # The workspace's content, under the names tests have always used.
        self.users = self.workspace.users
        self.channels = self.workspace.channels
        self.messages = self.workspace.messages  # (channel, ts) -> message
        self.uploads = self.workspace.uploads
        self.views = self.workspace.views  # modals opened with views.open
        self.home_views = self.workspace.home_views  # user id -> App Home view last published
        self.ephemerals = self.workspace.ephemerals
        # chat.postMessage per channel per second; None disables the limiter.
        self.rate_limit_per_channel = rate_limit_per_channel
        # Posts that may arrive back to back before the rate applies (Slack allows short bursts).
        self.rate_limit_burst = rate_limit_burst
        self.rate_limited = 0  # 429s caused by rate_limit_per_channel (not by fail())
        self.calls: list[SlackCall] = []
        self.finished: list[str] = []  # methods in the order their answers left (after latency)
        self._faults: dict[str, list[_Fault]] = defaultdict(list)
        self._outages: list[tuple[float, float, _Fault]] = []  # (from, until, fault)
        self._due: dict[str, float] = {}  # channel -> theoretical time of the next post (GCRA)
        self.user_reactions: set[tuple[str, str, str, str]] = set()  # (user, channel, ts, name)
        w = self.workspace
        self._methods: dict[str, Callable[[Params], Payload]] = {
            "auth.test": w.auth_test,
            "chat.postMessage": w.post_message,
            "chat.update": w.update,
            "chat.delete": w.delete,
            "chat.postEphemeral": w.post_ephemeral,
            "chat.getPermalink": w.get_permalink,
            "reactions.add": w.reactions_add,
            "reactions.remove": w.reactions_remove,
            "users.info": w.users_info,
            "users.list": w.users_list,
            "conversations.info": w.conversations_info,
            "files.getUploadURLExternal": w.get_upload_url,
            "files.completeUploadExternal": w.complete_upload,
            "views.open": w.views_open,
            "views.publish": w.views_publish,
        }
        self.events = EventSender(self)
        self.deliveries = self.events.deliveries
        self.people = People(self)
        self.app.router.add_route("*", "/api/{method}", self._handle_api)
        self.app.router.add_post("/upload/{file_id}", self._handle_upload)

    @property
    def url(self) -> str:
        return f"{self.origin}/api/"

    async def start(self) -> None:
        await super().start()
        self.workspace.upload_base = self.origin

    # ---- configuration -------------------------------------------------------------

    def add_user(
        self, user_id: str, real_name: str, name: str | None = None, **flags: bool
    ) -> dict[str, Any]:
        """A workspace member; flags: is_admin, is_owner, is_restricted, is_ultra_restricted."""
        return self.workspace.add_user(user_id, real_name, name, **flags)

    def add_channel(
        self,
        channel_id: str,
        name: str | None = None,
        *,
        private: bool = False,
        member: bool = True,
        archived: bool = False,
    ) -> Channel:
        """A channel as the bot sees it (member=False: the bot was never invited)."""
        return self.workspace.add_channel(
            channel_id, name, private=private, member=member, archived=archived
        )

    def remove_channel(self, channel_id: str) -> None:
        self.workspace.remove_channel(channel_id)

    @property
    def auto_channels(self) -> bool:
        """Unknown channel ids exist (public, bot a member); False: channel_not_found."""
        return self.workspace.auto_channels

    @auto_channels.setter
    def auto_channels(self, value: bool) -> None:
        self.workspace.auto_channels = value

    def add_message(
        self, channel: str, text: str, *, user: str = "U0HUMAN", thread_ts: str | None = None
    ) -> str:
        """Seed a message (e.g. a human's thread reply) so chat.update/delete can find it."""
        ts = self.workspace.new_ts()
        self.messages[(channel, ts)] = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts,
            **({"thread_ts": thread_ts} if thread_ts else {}),
        }
        return ts

    def deliver_to(
        self,
        app_url: str,
        signing_secret: str,
        *,
        path: str = "/slack/events",
        ack_seconds: float = 3.0,
    ) -> None:
        """Turn deliveries on: events, interactivity and commands go to app_url + path."""
        self.events.app_url = app_url.rstrip("/")
        self.events.signing_secret = signing_secret
        self.events.path = path
        self.events.ack_seconds = ack_seconds

    def fail(
        self,
        method: str,
        status: int | None = None,
        *,
        error: str | None = None,
        retry_after: int = 1,
        times: int = 1,
    ) -> None:
        """Fail the next `times` calls to `method`.

        status 429 -> HTTP 429 + Retry-After, error "ratelimited"; 5xx -> that status,
        error "internal_error"; error=... alone -> HTTP 200 {"ok": false, "error": error}.
        """
        status = status if status is not None else (200 if error else 429)
        self._faults[method].append(
            _Fault(status, error or _default_error(status), retry_after, times)
        )

    def fail_all(
        self, status: int = 503, duration_seconds: float = 1.0, retry_after: int = 1
    ) -> None:
        """Every method answers `status` until `duration_seconds` from now (an outage)."""
        self.outages([(status, duration_seconds)], retry_after=retry_after)

    def outages(self, phases: list[tuple[int, float]], retry_after: int = 1) -> None:
        """Back-to-back outages from now: e.g. [(500, 60), (429, 30)] answers 500 for a minute,
        then 429 with Retry-After for 30 s, then recovers."""
        start = time.monotonic()
        self._outages = []
        for status, seconds in phases:
            fault = _Fault(status, _default_error(status), retry_after, remaining=0)
            self._outages.append((start, start + seconds, fault))
            start += seconds

    @property
    def outage_over_at(self) -> float | None:
        """time.monotonic() when the scheduled outages end (None if none were set)."""
        return self._outages[-1][1] if self._outages else None

    def clear_faults(self) -> None:
        self._faults.clear()
        self._outages = []

    # ---- inspection ----------------------------------------------------------------

    def calls_to(self, method: str, failed: bool | None = None) -> list[Params]:
        """Params of calls to `method`; failed=None means all, True/False filters."""
        return [
            c.params
            for c in self.calls
            if c.method == method and (failed is None or c.failed == failed)
        ]

    @property
    def posts(self) -> list[Params]:
        """Successful chat.postMessage params, in arrival order."""
        return self.calls_to("chat.postMessage", failed=False)

    def replies(self, thread_ts: str) -> list[Params]:
        return [p for p in self.posts if p.get("thread_ts") == thread_ts]

    @property
    def reactions(self) -> list[Params]:
        """Successful reactions.add params."""
        return self.calls_to("reactions.add", failed=False)

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        """What the channel shows: its top-level messages, oldest first."""
        return self.workspace.channel_messages(channel)

    def thread_messages(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """The replies under `thread_ts`, oldest first (bots' and people's alike)."""
        return self.workspace.thread_messages(channel, thread_ts)

    # ---- HTTP ----------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        method = request.match_info["method"]
        params = await _read_params(request)
        token = _bearer(request) or params.pop("token", None)
        status, payload, headers = self._answer(method, params, token, at)
        self.calls.append(SlackCall(method, params, at, status, payload.get("error")))
        await self._simulate_latency()
        self.finished.append(method)
        return web.json_response(payload, status=status, headers=headers)

    def _answer(
        self, method: str, params: Params, token: str | None, now: float
    ) -> tuple[int, Payload, dict[str, str]]:
        if not token:
            return 200, _err("not_authed"), {}
        if token != self.token:
            return 200, _err("invalid_auth"), {}
        if self.token_error:
            return 200, _err(self.token_error), {}
        headers = {"x-oauth-scopes": ",".join(sorted(self.scopes))}
        if method in METHOD_SCOPES:
            headers["x-accepted-oauth-scopes"] = ",".join(METHOD_SCOPES[method])
        fault = self._take_fault(method, now)
        if fault is not None:
            if fault.status == 429:
                headers["Retry-After"] = str(fault.retry_after)
            return fault.status, _err(fault.error), headers
        channel = str(params.get("channel", ""))
        if method == "chat.postMessage" and (wait := self._rate_limit_wait(channel, now)):
            self.rate_limited += 1
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return 429, _err("ratelimited"), headers
        handler = self._methods.get(method)
        if handler is None:
            return 200, _err("unknown_method"), headers
        accepted = METHOD_SCOPES.get(method, ())
        if self.enforce_scopes and accepted and not self.scopes.intersection(accepted):
            missing = {**_err("missing_scope"), "needed": ",".join(accepted)}
            return 200, {**missing, "provided": ",".join(sorted(self.scopes))}, headers
        if error := self.workspace.channel_error(method, params, self.scopes):
            return 200, _err(error), headers
        payload = handler(params)
        if method == "chat.postMessage" and payload["ok"] and self.rate_limit_per_channel:
            interval = 1.0 / self.rate_limit_per_channel
            self._due[channel] = max(self._due.get(channel, now), now) + interval
        return 200, payload, headers

    def _take_fault(self, method: str, now: float) -> _Fault | None:
        for since, until, fault in self._outages:
            if since <= now < until:
                return fault
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.pop(0)
        return fault

    def _rate_limit_wait(self, channel: str, now: float) -> float:
        """Seconds until `channel` may take another post; 0 when allowed."""
        if not self.rate_limit_per_channel or channel not in self._due:
            return 0.0
        interval = 1.0 / self.rate_limit_per_channel
        allowed_at = self._due[channel] - (self.rate_limit_burst - 1) * interval
        return max(0.0, allowed_at - now)

    async def _handle_upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if request.content_type.startswith("multipart/"):
            # Tolerate multipart too; slack_sdk posts the raw bytes.
            reader = await request.multipart()
            part = await reader.next()
            data = await part.read() if isinstance(part, BodyPartReader) else b""
        else:
            data = await request.read()
        if not self.workspace.receive_upload(file_id, bytes(data)):
            return web.Response(status=404, text="file_not_found")
        await self._simulate_latency()
        # Real upload URLs answer text/plain; slack_sdk only checks the status.
        return web.Response(text=f"OK - {len(data)}")


def _default_error(status: int) -> str:
    return "ratelimited" if status == 429 else "internal_error"


def _bearer(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[len("Bearer ") :] if auth.startswith("Bearer ") else None


async def _read_params(request: web.Request) -> Params:
    params: Params = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    elif request.method == "POST":
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params
