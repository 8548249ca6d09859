"""Slack Web API stand-in: enough of https://slack.com/api/ for slack_sdk's AsyncWebClient.

slack_sdk sends some methods as JSON (chat.*), others as query-string params on a POST
(reactions.add, files.*) or a GET (users.info, conversations.info), so every request's
query, form and JSON body are merged into one params dict.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from bot.simulators._server import LoopbackServer

DEFAULT_TOKEN = "xoxb-test"
BOT_USER_ID = "U0TEXTBACK"
BOT_ID = "B0TEXTBACK"
TEAM_ID = "T0TEXTBACK"

Params = dict[str, Any]
Payload = dict[str, Any]


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
class SlackUpload:
    """A file that went through getUploadURLExternal, the upload POST and completeUploadExternal."""

    file_id: str
    filename: str
    title: str | None
    data: bytes
    channel_id: str | None
    thread_ts: str | None
    initial_comment: str | None


@dataclass
class _Fault:
    status: int
    error: str
    retry_after: int
    remaining: int


def _err(error: str) -> Payload:
    return {"ok": False, "error": error}


class SlackStandIn(LoopbackServer):
    """Loopback Slack Web API. Pass `url` as AsyncWebClient(base_url=...)."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        users: Mapping[str, str] | None = None,
        channels: Mapping[str, str] | None = None,
        latency: float = 0.0,
        rate_limit_per_channel: float | None = None,
        rate_limit_burst: int = 1,
    ) -> None:
        super().__init__(latency)
        self.token = token
        self.users: dict[str, dict[str, Any]] = {}
        for user_id, real_name in (users or {}).items():
            self.add_user(user_id, real_name)
        self.channels: dict[str, str] = dict(channels or {})  # channel id -> name
        # chat.postMessage per channel per second; None disables the limiter.
        self.rate_limit_per_channel = rate_limit_per_channel
        # Posts that may arrive back to back before the rate applies (Slack allows short bursts).
        self.rate_limit_burst = rate_limit_burst
        self.rate_limited = 0  # 429s caused by rate_limit_per_channel (not by fail())
        self.calls: list[SlackCall] = []
        self.uploads: list[SlackUpload] = []
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) -> message
        self.views: list[dict[str, Any]] = []  # modals opened with views.open
        self._reactions: set[tuple[str, str, str]] = set()
        self._faults: dict[str, list[_Fault]] = defaultdict(list)
        self._outages: list[tuple[float, float, _Fault]] = []  # (from, until, fault)
        self._due: dict[str, float] = {}  # channel -> theoretical time of the next post (GCRA)
        self._next_ts = 1_700_000_000_000_100  # microseconds; ts strings keep equal width
        self._file_seq = 0
        self._pending_files: dict[str, dict[str, Any]] = {}
        self._methods: dict[str, Callable[[Params], Payload]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "chat.postEphemeral": self._post_ephemeral,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "users.info": self._users_info,
            "conversations.info": self._conversations_info,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "views.open": self._views_open,
            "views.publish": self._views_publish,
        }
        self.finished: list[str] = []  # methods in the order their answers left (after latency)
        self.home_views: dict[str, Any] = {}  # user id -> the App Home view last published
        self.app.router.add_route("*", "/api/{method}", self._handle_api)
        self.app.router.add_post("/upload/{file_id}", self._handle_upload)

    @property
    def url(self) -> str:
        return f"{self.origin}/api/"

    # ---- configuration -------------------------------------------------------------

    def add_user(self, user_id: str, real_name: str, name: str | None = None) -> None:
        name = name or real_name.lower().replace(" ", ".")
        profile = {"real_name": real_name, "display_name": name}
        self.users[user_id] = {
            "id": user_id,
            "name": name,
            "real_name": real_name,
            "is_bot": False,
            "profile": profile,
        }

    def add_message(
        self, channel: str, text: str, *, user: str = "U0HUMAN", thread_ts: str | None = None
    ) -> str:
        """Seed a message (e.g. a human's thread reply) so chat.update/delete can find it."""
        ts = self._new_ts()
        self.messages[(channel, ts)] = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts,
            **({"thread_ts": thread_ts} if thread_ts else {}),
        }
        return ts

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
        fault = self._take_fault(method, now)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.status == 429 else {}
            return fault.status, _err(fault.error), headers
        channel = str(params.get("channel", ""))
        if method == "chat.postMessage" and (wait := self._rate_limit_wait(channel, now)):
            self.rate_limited += 1
            return 429, _err("ratelimited"), {"Retry-After": str(max(1, math.ceil(wait)))}
        handler = self._methods.get(method)
        if handler is None:
            return 200, _err("unknown_method"), {}
        payload = handler(params)
        if method == "chat.postMessage" and payload["ok"] and self.rate_limit_per_channel:
            interval = 1.0 / self.rate_limit_per_channel
            self._due[channel] = max(self._due.get(channel, now), now) + interval
        return 200, payload, {}

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
        pending = self._pending_files.get(file_id)
        if pending is None:
            return web.Response(status=404, text="file_not_found")
        if request.content_type.startswith("multipart/"):
            # Tolerate multipart too; slack_sdk posts the raw bytes.
            reader = await request.multipart()
            part = await reader.next()
            data = await part.read() if isinstance(part, BodyPartReader) else b""
        else:
            data = await request.read()
        pending["data"] = bytes(data)
        await self._simulate_latency()
        # Real upload URLs answer text/plain; slack_sdk only checks the status.
        return web.Response(text=f"OK - {len(data)}")

    # ---- methods -------------------------------------------------------------------

    def _new_ts(self) -> str:
        ts = f"{self._next_ts // 1_000_000}.{self._next_ts % 1_000_000:06d}"
        self._next_ts += 100
        return ts

    def _auth_test(self, _: Params) -> Payload:
        return {
            "ok": True,
            "url": "https://textback-test.slack.com/",
            "team": "Textback Test",
            "user": "textback",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
        }

    def _post_message(self, p: Params) -> Payload:
        channel = p.get("channel")
        if not channel:
            return _err("channel_not_found")
        if not (p.get("text") or p.get("blocks") or p.get("attachments")):
            return _err("no_text")
        if error := _over_limits(p):
            return _err(error)
        ts = self._new_ts()
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
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _update(self, p: Params) -> Payload:
        key = (str(p.get("channel")), str(p.get("ts")))
        message = self.messages.get(key)
        if message is None:
            return _err("message_not_found")
        if error := _over_limits(p):
            return _err(error)
        message.update({k: p[k] for k in ("text", "blocks", "attachments") if k in p})
        return {
            "ok": True,
            "channel": key[0],
            "ts": key[1],
            "text": message.get("text", ""),
            "message": message,
        }

    def _delete(self, p: Params) -> Payload:
        key = (str(p.get("channel")), str(p.get("ts")))
        if self.messages.pop(key, None) is None:
            return _err("message_not_found")
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _post_ephemeral(self, p: Params) -> Payload:
        if not p.get("channel"):
            return _err("channel_not_found")
        if not p.get("user"):
            return _err("user_not_found")
        return {"ok": True, "message_ts": self._new_ts()}

    def _reaction_key(self, p: Params) -> tuple[str, str, str]:
        return str(p.get("channel")), str(p.get("timestamp")), str(p.get("name"))

    def _reactions_add(self, p: Params) -> Payload:
        # Real Slack rejects a duplicate reaction; the bot has to treat that as success.
        key = self._reaction_key(p)
        if key in self._reactions:
            return _err("already_reacted")
        self._reactions.add(key)
        return {"ok": True}

    def _reactions_remove(self, p: Params) -> Payload:
        key = self._reaction_key(p)
        if key not in self._reactions:
            return _err("no_reaction")
        self._reactions.remove(key)
        return {"ok": True}

    def _views_publish(self, p: Params) -> Payload:
        user, view = p.get("user_id"), p.get("view")
        if not user or not view:
            return _err("invalid_arguments")
        parsed = json.loads(view) if isinstance(view, str) else view
        if error := _over_limits({"blocks": parsed.get("blocks")}):
            return _err(error)
        self.home_views[str(user)] = json.loads(view) if isinstance(view, str) else view
        return {"ok": True, "view": self.home_views[str(user)]}

    def _users_info(self, p: Params) -> Payload:
        user = self.users.get(str(p.get("user")))
        return {"ok": True, "user": user} if user else _err("user_not_found")

    def _views_open(self, p: Params) -> Payload:
        view = p.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not p.get("trigger_id"):
            return _err("invalid_trigger_id")
        if not isinstance(view, dict) or view.get("type") != "modal":
            return _err("invalid_arguments")
        opened = {**view, "id": f"V{len(self.views) + 1:08d}"}
        self.views.append(opened)
        return {"ok": True, "view": opened}

    def _conversations_info(self, p: Params) -> Payload:
        channel = p.get("channel")
        if not channel:
            return _err("channel_not_found")
        return {
            "ok": True,
            "channel": {
                "id": channel,
                "name": self.channels.get(channel, channel),
                "is_channel": True,
                "is_member": True,
                "is_archived": False,
            },
        }

    def _get_upload_url(self, p: Params) -> Payload:
        if not p.get("filename") or not p.get("length"):
            return _err("invalid_arguments")
        self._file_seq += 1
        file_id = f"F{self._file_seq:08d}"
        self._pending_files[file_id] = {"filename": p["filename"], "data": None}
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.origin}/upload/{file_id}"}

    def _complete_upload(self, p: Params) -> Payload:
        files = p.get("files")
        entries = json.loads(files) if isinstance(files, str) else files
        if not entries:
            return _err("invalid_arguments")
        if any(self._pending_files.get(e.get("id"), {}).get("data") is None for e in entries):
            return _err("file_not_found")
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
        return {"ok": True, "files": done}


MAX_TEXT = 40_000  # Slack cuts or refuses a longer message text
MAX_SECTION_TEXT = 3_000  # a longer section block makes the whole message invalid_blocks


def _over_limits(p: Params) -> str | None:
    """Slack's documented limits, enforced strictly: the post is refused, not cut."""
    if len(str(p.get("text") or "")) > MAX_TEXT:
        return "msg_too_long"
    blocks = p.get("blocks") or []
    for block in json.loads(blocks) if isinstance(blocks, str) else blocks:
        text = (block.get("text") or {}).get("text", "") if block.get("type") == "section" else ""
        if len(text) > MAX_SECTION_TEXT:
            return "invalid_blocks"
    return None


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
