"""Shared plumbing for the loopback simulators: an aiohttp app on 127.0.0.1, port 0.

Besides serving, a simulator calls our app the way the real service does (webhooks, events,
status callbacks): it owns one aiohttp client session for that, and the background tasks that
deliver callbacks after an API answer. `settled()` waits for those tasks, so a test can wait on
"everything the service would have sent by now" instead of sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web


class LoopbackServer:
    """Serves `self.app` on an ephemeral loopback port between start() and close()."""

    def __init__(self, latency: float = 0.0) -> None:
        # Seconds each request is held before answering: simulates a slow upstream.
        self.latency = latency
        self.app = web.Application()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def origin(self) -> str:
        """`http://127.0.0.1:PORT`, available once started."""
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> None:
        if self._runner is not None:
            return
        # Short shutdown timeout: a test that closes mid-request must not hang for 60 s.
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = runner.addresses[0][1]

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._port = None

    # ---- calling our app -------------------------------------------------------------

    @property
    def session(self) -> aiohttp.ClientSession:
        """The client session the simulator calls our app with (opened on first use)."""
        if self._session is None:
            # Redirects are not followed: neither Slack nor Twilio follows one to a webhook.
            self._session = aiohttp.ClientSession()
        return self._session

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `work` in the background (a callback the service sends later); close() cancels it."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def settled(self, within: float = 10.0) -> None:
        """Wait until every background delivery (and any it started) has finished."""
        async with asyncio.timeout(within):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _simulate_latency(self) -> None:
        if self.latency > 0:
            await asyncio.sleep(self.latency)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
