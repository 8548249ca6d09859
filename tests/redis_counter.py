"""A loopback proxy in front of one Redis server that counts what passes through it.

Point one process's REDIS_URL at it and it counts that process's traffic only, however busy the
shared Redis is (MONITOR would see every other client too). It counts:
- commands, by name, from the client's RESP arrays: a pipeline's commands one by one, a script
  as one EVALSHA;
- round trips: a burst of requests from a connection answered by the server before that
  connection sends again (a pipeline is one, a Lua script is one, two awaits in a row are two).
  Connection housekeeping (SELECT, HELLO, CLIENT SETNAME, PING health checks) is no round trip:
  it costs once per pooled connection, not per event. Each round trip keeps its command names,
  so a test that fails says where they went.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

HOUSEKEEPING = {"SELECT", "HELLO", "CLIENT", "PING", "AUTH"}


class CountingProxy:
    def __init__(self, redis_url: str) -> None:
        target = urlsplit(redis_url)
        self._target_url = target
        self._host = target.hostname or "127.0.0.1"
        self._port = target.port or 6379
        self.commands: Counter[str] = Counter()
        self.trips: list[list[str]] = []  # the command names of each round trip
        self.since = time.monotonic()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> CountingProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        """The target's URL (database, options) with the proxy's address instead."""
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return urlunsplit(self._target_url._replace(netloc=f"127.0.0.1:{port}"))

    @property
    def round_trips(self) -> int:
        return len(self.trips)

    def reset(self) -> None:
        """Start a new window."""
        self.commands = Counter()
        self.trips = []
        self.since = time.monotonic()

    def per_second(self) -> dict[str, float]:
        """Commands a second since the window started, by name."""
        seconds = time.monotonic() - self.since
        return {name: count / seconds for name, count in self.commands.most_common()}

    def total_per_second(self) -> float:
        return sum(self.commands.values()) / (time.monotonic() - self.since)

    async def _serve(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        server_in, server_out = await asyncio.open_connection(self._host, self._port)
        link = _Link(self)
        up = asyncio.create_task(_copy(client_in, server_out, link.client_sent))
        down = asyncio.create_task(_copy(server_in, client_out, link.server_sent))
        self._pipes.update((up, down))
        try:
            await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (up, down):
                task.cancel()
            await asyncio.gather(up, down, return_exceptions=True)
            self._pipes.difference_update((up, down))
            for writer in (client_out, server_out):
                writer.close()


class _Link:
    """One client connection. Bytes are forwarded as they come, whole TCP reads at a time (a
    pipeline reaches the server as the client sent it); commands are parsed from a buffer, so
    one split across reads is counted once it is whole."""

    def __init__(self, proxy: CountingProxy) -> None:
        self.proxy = proxy
        self.pending = b""
        self.awaiting_answer = False
        self.trip: list[str] | None = None  # this burst's round trip, once it has a command
        self.housekeeping = False  # this burst is connection housekeeping: no round trip

    def client_sent(self, data: bytes) -> None:
        if not self.awaiting_answer:  # the client speaks after an answer: a new burst
            self.awaiting_answer = True
            self.trip = None
            self.housekeeping = False
        self.pending += data
        names, self.pending = _commands(self.pending)
        if not names:
            return
        self.proxy.commands.update(names)
        if self.trip is None and not self.housekeeping:
            if all(name in HOUSEKEEPING for name in names):
                self.housekeeping = True
                return
            self.trip = []
            self.proxy.trips.append(self.trip)
        if self.trip is not None:
            self.trip.extend(names)

    def server_sent(self, _: bytes) -> None:
        self.awaiting_answer = False


def _commands(data: bytes) -> tuple[list[str], bytes]:
    """The names of the whole commands at the start of `data`, and what is left of it. A RESP
    command is an array of bulk strings, its name first; an inline one (redis-cli, telnet) a
    line whose first word is its name."""
    names: list[str] = []
    at = 0
    while at < len(data):
        end = data.find(b"\r\n", at)
        if end < 0:
            break
        if not data.startswith(b"*", at):
            names.append(data[at:end].split(b" ", 1)[0].decode(errors="replace").upper())
            at = end + 2
            continue
        count, cursor, name = int(data[at + 1 : end]), end + 2, b""
        for index in range(count):
            end = data.find(b"\r\n", cursor)
            if end < 0:
                return names, data[at:]
            length = int(data[cursor + 1 : end])
            if end + 2 + length + 2 > len(data):
                return names, data[at:]
            if index == 0:
                name = data[end + 2 : end + 2 + length]
            cursor = end + 2 + length + 2
        names.append(name.decode(errors="replace").upper())
        at = cursor
    return names, data[at:]


async def _copy(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Callable[[bytes], None]
) -> None:
    while data := await reader.read(65536):
        seen(data)
        writer.write(data)
        await writer.drain()
