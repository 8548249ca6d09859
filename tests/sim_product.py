"""The product side of a simulator test: a tiny aiohttp app, no product code.

It records every request a simulator sends it and answers what the test scripted for that path
(by default 200 with an empty TwiML document), so a test asserts on exactly what Slack or
Twilio would have sent our app.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.test_utils import TestServer

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@dataclass
class Received:
    method: str
    path: str
    path_qs: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    @property
    def json(self) -> Any:
        return json.loads(self.body)


Answer = str | Callable[[Received], web.Response]


class ProductStub:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: dict[str, Answer] = {}
        self.hold: asyncio.Event | None = None  # set: answers wait until it is set
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._handle)

    def to(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def _handle(self, request: web.Request) -> web.Response:
        received = Received(
            request.method,
            request.path,
            request.path_qs,
            dict(request.headers),
            await request.read(),
        )
        self.received.append(received)
        if self.hold is not None:
            await self.hold.wait()
        answer = self.answers.get(request.path, EMPTY_TWIML)
        if callable(answer):
            return answer(received)
        return web.Response(text=answer, content_type="text/xml")


@asynccontextmanager
async def running_stub() -> AsyncIterator[tuple[ProductStub, str]]:
    """A started ProductStub and its loopback base URL."""
    stub = ProductStub()
    server = TestServer(stub.app)
    await server.start_server()
    try:
        yield stub, str(server.make_url("")).rstrip("/")
    finally:
        if stub.hold is not None:
            stub.hold.set()
        await server.close()
