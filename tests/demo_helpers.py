"""The demo (bot/demo) in the test's own event loop, on the test Redis under the test's key
prefix, and a client for its own endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from bot import local_redis
from bot.demo import sandbox
from bot.demo.sandbox import Sandbox


@asynccontextmanager
async def running_demo(
    redis_url: str, key_prefix: str, data_dir: Path, *, real_time: bool = True
) -> AsyncIterator[Sandbox]:
    """real_time=False: calls take no time (the crew's phone does not ring for 5 s)."""
    port = local_redis.free_port()
    async with sandbox.running(port, redis_url, data_dir, key_prefix=key_prefix) as box:
        box.twilio.voice.real_time = real_time
        yield box


class DemoClient:
    """What the page does: GET /demo/state, POST JSON to /demo/..."""

    def __init__(self, http: aiohttp.ClientSession, box: Sandbox) -> None:
        self.http = http
        self.base = box.url

    async def state(self) -> dict[str, Any]:
        async with self.http.get(f"{self.base}/demo/state") as response:
            assert response.status == 200
            found: dict[str, Any] = await response.json()
            return found

    async def post(self, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
        async with self.http.post(f"{self.base}{path}", json=body) as response:
            answer: dict[str, Any] = await response.json()
            assert response.status == status, answer
            return answer


def phone_texts(state: dict[str, Any], direction: str = "in") -> list[str]:
    return [
        entry["body"]
        for entry in state["phone"]["timeline"]
        if entry["kind"] == "text" and entry["dir"] == direction
    ]


def cards(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in state["slack"]["messages"] if m["bot"] and m["blocks"]]


def thread_texts(card: dict[str, Any]) -> list[str]:
    return [reply["text"] for reply in card.get("replies", [])]
