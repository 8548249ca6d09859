"""A loopback TCP proxy in front of Redis that counts request round trips.

A round trip is one burst of requests from a connection answered by the server before that
connection sends again: a pipeline is one, a Lua script is one, two awaits in a row are two.
Connection housekeeping (SELECT, HELLO, CLIENT SETNAME, PING health checks) is not counted: it
costs once per pooled connection, not per event. The command names of each counted burst are
kept, so a test that fails says where the round trips went.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from tests.conftest import Harness

HOUSEKEEPING = {"SELECT", "HELLO", "CLIENT", "PING", "AUTH"}


def command_names(data: bytes) -> list[str]:
    """The names of the RESP commands in a burst (each an array of bulk strings, the first its
    name). Parsing stops at a command split across bursts: a name lost, never a round trip."""
    names, at = [], 0
    while data.startswith(b"*", at):
        end = data.find(b"\r\n", at)
        if end < 0:
            break
        count, at = int(data[at + 1 : end]), end + 2
        for index in range(count):
            end = data.find(b"\r\n", at)
            if end < 0 or not data.startswith(b"$", at):
                return names
            length = int(data[at + 1 : end])
            if index == 0:
                names.append(data[end + 2 : end + 2 + length].decode(errors="replace").upper())
            at = end + 2 + length + 2
    return names


@dataclass
class RoundTrips:
    """What went through the proxy: one list of command names per round trip."""

    trips: list[list[str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.trips)

    def reset(self) -> None:
        self.trips.clear()


class _Link:
    """One client connection: counts a round trip each time the client speaks after the
    server answered (or first)."""

    def __init__(self, counted: RoundTrips) -> None:
        self.counted = counted
        self.awaiting_answer = False

    def client_sent(self, data: bytes) -> None:
        names = command_names(data)
        if self.awaiting_answer:  # more of the same burst (a pipeline split by TCP)
            if self.counted.trips and names:
                self.counted.trips[-1].extend(names)
            return
        self.awaiting_answer = True
        if names and all(name in HOUSEKEEPING for name in names):
            return
        self.counted.trips.append(names)

    def server_sent(self) -> None:
        self.awaiting_answer = False


async def _pump(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    on_data: Callable[[bytes], None],
) -> None:
    try:
        while data := await reader.read(65536):
            on_data(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def counting_proxy(host: str, port: int) -> AsyncIterator[tuple[int, RoundTrips]]:
    """A proxy on a free loopback port in front of host:port; yields (its port, the count)."""
    counted = RoundTrips()
    tasks: set[asyncio.Task[None]] = set()

    async def serve(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(host, port)
        link = _Link(counted)

        def from_server(data: bytes) -> None:
            link.server_sent()

        up = asyncio.ensure_future(_pump(client_r, server_w, link.client_sent))
        down = asyncio.ensure_future(_pump(server_r, client_w, from_server))
        tasks.update((up, down))
        await asyncio.gather(up, down)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    own_port = server.sockets[0].getsockname()[1]
    try:
        yield own_port, counted
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def counted_app(harness: Harness) -> AsyncIterator[tuple[Harness, RoundTrips]]:
    """A second copy of the app, without a worker, reaching the harness's Redis (same database,
    same key prefix) through the counting proxy: the webhooks sent to it are counted, while the
    harness's worker performs the jobs they queue. The line's Slack overrides are kept for an
    hour, not a second: the figures are per event on a busy line, where they come from memory."""
    url = urlsplit(harness.settings.redis_url)
    async with counting_proxy(url.hostname or "127.0.0.1", url.port or 6379) as (port, counted):
        proxied = urlunsplit(url._replace(netloc=f"127.0.0.1:{port}"))
        settings = harness.settings.model_copy(update={"redis_url": proxied})
        app = create_app(settings, run_worker=False, clock=harness.clock)
        client: TestClient[Any, Any] = TestClient(TestServer(app))
        await client.start_server()
        counted_harness = replace(harness, client=client, settings=settings)
        counted_harness.services.lines.ttl = 3600.0
        try:
            yield counted_harness, counted
        finally:
            await client.close()
