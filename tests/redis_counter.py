"""A loopback proxy in front of one Redis server that counts the commands passing through it.

Point one process's REDIS_URL at it and it counts that process's commands only, however busy
the shared Redis is (MONITOR would see every other client too). Commands are counted by name
from the client's RESP arrays; a pipeline's commands count one by one, a script as one EVALSHA.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from urllib.parse import urlsplit, urlunsplit


class CountingProxy:
    def __init__(self, redis_url: str) -> None:
        target = urlsplit(redis_url)
        self._target_url = target
        self._host = target.hostname or "127.0.0.1"
        self._port = target.port or 6379
        self.commands: Counter[str] = Counter()
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

    def reset(self) -> None:
        """Start a new window."""
        self.commands = Counter()
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
        up = asyncio.create_task(self._requests(client_in, server_out))
        down = asyncio.create_task(_copy(server_in, client_out))
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

    async def _requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Forward each command as it is read, counting it by its name."""
        while True:
            header = await reader.readline()
            if not header:
                return
            chunks = [header]
            if header.startswith(b"*"):
                name = b""
                for index in range(int(header[1:])):
                    length_line = await reader.readline()
                    value = await reader.readexactly(int(length_line[1:]) + 2)
                    chunks += [length_line, value]
                    if index == 0:
                        name = value[:-2]
                self.commands[name.decode(errors="replace").upper()] += 1
            else:  # an inline command (redis-cli, telnet): its first word
                self.commands[
                    header.split(b" ", 1)[0].strip().decode(errors="replace").upper()
                ] += 1
            writer.writelines(chunks)
            await writer.drain()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
