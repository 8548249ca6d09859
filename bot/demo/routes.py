"""The demo's own routes, a sub-app the demo command mounts at /demo (create_app never does).

GET  /demo                  the page (bot/pages/demo.py) and /demo/demo.js, its script
GET  /demo/state            both sides as JSON: the caller's phone and the crew's channel
GET  /demo/photo.png        the photo the caller can text; /demo/files/{id}: photos in Slack
POST /demo/call             {"choice": "no-answer"|"answer"|"voicemail", "voicemail": "..."}
POST /demo/text             {"body": "...", "photo": false}
POST /demo/caller           the phone becomes a new caller
POST /demo/slack/message    {"user": "U…", "text": "...", "thread_ts": "..."|null}
POST /demo/slack/react      {"user": "U…", "ts": "...", "name": "eyes", "remove": false}
POST /demo/slack/click      {"user": "U…", "ts": "...", "action_id": "lead_claim"}
POST /demo/slack/delete     {"user": "U…", "ts": "..."}
POST /demo/slack/command    {"user": "U…", "text": "/textback status"}

A POST must be JSON (a form from another site can't be) and reach us as 127.0.0.1 or
localhost (a rebound DNS name can't); a bad one gets 400 with the reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.demo.channel import Channel, ChannelError
from bot.demo.config import CREW, Member
from bot.demo.phone import CREW_ANSWERS, Phone, PhoneError
from bot.pages import demo as demo_page
from bot.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Sides:
    """Both ends of the demo, and the calls in progress (a call lasts while it rings)."""

    phone: Phone
    channel: Channel
    settings: Settings
    crew: tuple[Member, ...] = CREW
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("demo call failed: %s", exc, exc_info=exc)

    async def hang_up(self) -> None:
        """End every call in progress (the demo is stopping)."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


class BadInput(ValueError):
    """A request body the demo can't read."""


SIDES = web.AppKey("sides", Sides)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.host.rsplit(":", 1)[0] not in ("127.0.0.1", "localhost"):
        return web.json_response({"error": "open the demo at 127.0.0.1"}, status=403)
    if request.method == "POST" and request.content_type != "application/json":
        return web.json_response({"error": "send JSON"}, status=415)
    try:
        return await handler(request)
    except (BadInput, PhoneError, ChannelError) as exc:
        return web.json_response({"error": str(exc)}, status=400)


def demo_app(sides: Sides) -> web.Application:
    app = web.Application(middlewares=[guarded])
    app[SIDES] = sides
    app.add_routes(ROUTES)
    return app


# ---- reading --------------------------------------------------------------------------

_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; connect-src 'self'; "
    "img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
}


async def page(request: web.Request) -> web.Response:
    return web.Response(text=demo_page.html(), content_type="text/html", headers=_PAGE_HEADERS)


async def script(request: web.Request) -> web.Response:
    return web.Response(
        text=demo_page.script(), content_type="text/javascript", headers=_PAGE_HEADERS
    )


async def state(request: web.Request) -> web.Response:
    sides = request.app[SIDES]
    settings = sides.settings
    return web.json_response(
        {
            "business": settings.business_name,
            "phone": sides.phone.view(),
            "slack": sides.channel.view(),
            "crew": [{"id": m.id, "name": m.name, "admin": m.admin} for m in sides.crew],
            # A crew reply waits this long under ⏳ before it is texted: the page counts it down.
            "undo_seconds": settings.reply_undo_seconds,
            # The reactions that claim, book and close a card, as this deployment has them.
            "reactions": {
                "claim": settings.claim_emoji,
                "book": settings.book_emoji,
                "close": settings.close_emoji,
            },
        },
        headers={"Cache-Control": "no-store"},
    )


async def photo(request: web.Request) -> web.Response:
    return web.Response(body=request.app[SIDES].phone.photo, content_type="image/png")


async def shared_file(request: web.Request) -> web.Response:
    found = request.app[SIDES].channel.upload(request.match_info["file_id"])
    if found is None:
        raise web.HTTPNotFound(text="no such file in the channel")
    data, kind = found
    return web.Response(body=data, content_type=kind, headers={"X-Content-Type-Options": "nosniff"})


# ---- the caller -----------------------------------------------------------------------


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise BadInput("the body is not JSON") from None
    if not isinstance(body, dict):
        raise BadInput("send a JSON object")
    return body


def _text(body: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = body.get(name, "" if not required else None)
    if not isinstance(value, str):
        raise BadInput(f"{name}: a string is required")
    return value


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise BadInput(f"{name}: true or false")
    return value


async def call(request: web.Request) -> web.Response:
    sides = request.app[SIDES]
    body = await _body(request)
    choice, voicemail = _text(body, "choice"), _text(body, "voicemail", required=False)
    if choice not in CREW_ANSWERS:
        raise BadInput(f"choice: one of {', '.join(CREW_ANSWERS)}")
    # Placed now; it lasts as long as it rings, and the page follows it in /demo/state.
    sides.spawn(sides.phone.call(choice, voicemail))  # type: ignore[arg-type]
    return web.json_response({"calling": sides.phone.number}, status=202)


async def text(request: web.Request) -> web.Response:
    body = await _body(request)
    await request.app[SIDES].phone.text(
        _text(body, "body", required=False), photo=_flag(body, "photo")
    )
    return web.json_response({"sent": True})


async def new_caller(request: web.Request) -> web.Response:
    return web.json_response({"number": request.app[SIDES].phone.new_caller()})


# ---- the crew -------------------------------------------------------------------------


async def slack_message(request: web.Request) -> web.Response:
    body = await _body(request)
    thread = body.get("thread_ts")
    if thread is not None and not isinstance(thread, str):
        raise BadInput("thread_ts: a string or null")
    await request.app[SIDES].channel.post(_text(body, "user"), _text(body, "text"), thread)
    return web.json_response({"posted": True})


async def slack_react(request: web.Request) -> web.Response:
    body = await _body(request)
    await request.app[SIDES].channel.react(
        _text(body, "user"), _text(body, "ts"), _text(body, "name"), remove=_flag(body, "remove")
    )
    return web.json_response({"reacted": True})


async def slack_click(request: web.Request) -> web.Response:
    body = await _body(request)
    await request.app[SIDES].channel.click(
        _text(body, "user"), _text(body, "ts"), _text(body, "action_id")
    )
    return web.json_response({"clicked": True})


async def slack_delete(request: web.Request) -> web.Response:
    body = await _body(request)
    await request.app[SIDES].channel.delete(_text(body, "user"), _text(body, "ts"))
    return web.json_response({"deleted": True})


async def slack_command(request: web.Request) -> web.Response:
    body = await _body(request)
    await request.app[SIDES].channel.command(_text(body, "user"), _text(body, "text"))
    return web.json_response({"ran": True})


ROUTES = (
    web.get("", page),
    web.get("/demo.js", script),
    web.get("/state", state),
    web.get("/photo.png", photo),
    web.get("/files/{file_id}", shared_file),
    web.post("/call", call),
    web.post("/text", text),
    web.post("/caller", new_caller),
    web.post("/slack/message", slack_message),
    web.post("/slack/react", slack_react),
    web.post("/slack/click", slack_click),
    web.post("/slack/delete", slack_delete),
    web.post("/slack/command", slack_command),
)
