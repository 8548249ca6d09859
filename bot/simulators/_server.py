"""Shared plumbing for the loopback stand-ins: an aiohttp app on 127.0.0.1, port 0."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

from aiohttp import web


class LoopbackServer:
    """Serves `self.app` on an ephemeral loopback port between start() and close()."""

    def __init__(self, latency: float = 0.0) -> None:
        # Seconds each request is held before answering: simulates a slow upstream.
        self.latency = latency
        self.app = web.Application()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

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
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._port = None

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
