"""Idle Redis traffic per process: MONITOR on the run's Redis while nothing happens, each
client's port mapped to the process that owns the socket through /proc.

A managed Redis billed per command charges idle polling around the clock, so the load table
shows what each process sends when there is no work. Our connections set no client name, so the
socket's owner is found the way `ss -p` finds it: the socket inode behind the process's file
descriptors, and that inode's local port in the process's /proc/<pid>/net/tcp{,6}.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis


@dataclass(frozen=True)
class TcpSocket:
    local_port: int
    remote_port: int
    inode: int


def parse_tcp_table(text: str) -> list[TcpSocket]:
    """The sockets in a /proc/<pid>/net/tcp or tcp6 table (addresses are hex `ADDR:PORT`)."""
    sockets = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        local, remote, inode = fields[1], fields[2], int(fields[9])
        sockets.append(
            TcpSocket(int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16), inode)
        )
    return sockets


def socket_inodes(fd_targets: Iterable[str]) -> set[int]:
    """The socket inodes among a process's file descriptor links (`socket:[12345]`)."""
    return {
        int(target[len("socket:[") : -1])
        for target in fd_targets
        if target.startswith("socket:[") and target.endswith("]")
    }


def ports_by_process(
    sockets: Iterable[TcpSocket], fd_targets: Mapping[str, Iterable[str]], server_port: int
) -> dict[int, str]:
    """{client port: process name} for each process's connections to `server_port`."""
    owner = {
        inode: name for name, targets in fd_targets.items() for inode in socket_inodes(targets)
    }
    return {
        sock.local_port: owner[sock.inode]
        for sock in sockets
        if sock.remote_port == server_port and sock.inode in owner
    }


def read_ports_by_process(pids: Mapping[str, int], server_port: int) -> dict[int, str]:
    """ports_by_process from the live /proc of each named process."""
    sockets: list[TcpSocket] = []
    fd_targets: dict[str, list[str]] = {}
    for name, pid in pids.items():
        for table in ("tcp", "tcp6"):
            with contextlib.suppress(FileNotFoundError):
                sockets += parse_tcp_table(Path(f"/proc/{pid}/net/{table}").read_text())
        fd_targets[name] = []
        with contextlib.suppress(FileNotFoundError):  # the process has exited: no sockets
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(FileNotFoundError):  # closed while we looked
                    fd_targets[name].append(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return ports_by_process(sockets, fd_targets, server_port)


async def monitor_commands(redis_url: str, seconds: float) -> list[tuple[int, str]]:
    """(client port, command name) of every command clients sent over `seconds` (the commands
    scripts run inside Redis are left out: they cost no round trip)."""
    seen: list[tuple[int, str]] = []
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        async with redis.monitor() as monitor:
            # A measurement window, not synchronisation: watch until it closes.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    while True:
                        info = await monitor.next_command()
                        if info["client_type"] != "tcp" or not info["command"]:
                            continue
                        name = info["command"].split(" ", 1)[0].upper()
                        seen.append((int(info["client_port"]), name))
    finally:
        await redis.aclose()
    return seen


def rates_by_process(
    seen: Iterable[tuple[int, str]], ports: Mapping[int, str], seconds: float
) -> dict[str, dict[str, float]]:
    """{process: {command: per second}}, only for the clients `ports` names."""
    counts: dict[str, Counter[str]] = {}
    for port, command in seen:
        name = ports.get(port)
        if name is not None:
            counts.setdefault(name, Counter())[command] += 1
    return {
        name: {command: n / seconds for command, n in by_command.most_common()}
        for name, by_command in counts.items()
    }


async def idle_commands(
    redis_url: str, pids: Mapping[str, int], server_port: int, seconds: float
) -> dict[str, dict[str, float]]:
    """Commands per second each named process sends Redis over `seconds` of no traffic; a
    process that sent none is listed with no commands."""
    before = read_ports_by_process(pids, server_port)
    seen = await monitor_commands(redis_url, seconds)
    # Connections opened during the window (a pool grows, a reconnect) count too.
    ports = {**before, **read_ports_by_process(pids, server_port)}
    rates = rates_by_process(seen, ports, seconds)
    return {name: rates.get(name, {}) for name in pids}


def describe_rates(by_command: Mapping[str, float]) -> str:
    total = sum(by_command.values())
    if not by_command:
        return "0"
    return f"{total:.1f} (" + ", ".join(f"{c} {r:.1f}" for c, r in by_command.items()) + ")"
