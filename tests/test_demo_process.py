"""`python -m bot demo` as a real process with nothing configured: the README's first command.

Only PATH in the environment, and a .env in its directory that would point a real deployment
elsewhere (the demo must ignore it). A missed call goes around through the demo's own
endpoints, then SIGINT (Ctrl-C) stops everything it started.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from bot import local_redis
from tests.demo_helpers import cards, phone_texts
from tests.waiting import wait_until

SERVERS = ("redis-server", "valkey-server")


@pytest.fixture
def stop_later() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def children(pid: int) -> dict[int, list[str]]:
    """The processes whose parent is `pid`: their command lines."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent == pid:
                cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
                found[int(stat.parent.name)] = [part.decode() for part in cmdline if part]
        except (OSError, ValueError, IndexError):
            continue  # a process that ended while we looked
    return found


def start_demo(tmp_path: Path) -> tuple[subprocess.Popen[bytes], str, Path, Path]:
    """`python -m bot demo` with only PATH set, in tmp_path; (process, base URL, stdout, stderr)."""
    port = local_redis.free_port()
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "demo", "--port", str(port)],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            cwd=tmp_path,
            stdout=stdout,
            stderr=stderr,
        )
    return process, f"http://127.0.0.1:{port}", out, err


def redis_of(process: subprocess.Popen[bytes]) -> tuple[int, int, Path]:
    """The demo's own Redis: (pid, port, directory)."""
    started = children(process.pid)
    [pid] = [pid for pid, cmd in started.items() if any(s in " ".join(cmd) for s in SERVERS)]
    # The server titles itself "redis-server 127.0.0.1:PORT" and works in its --dir.
    port = int(re.findall(r"127\.0\.0\.1:(\d+)", " ".join(started[pid]))[0])
    return pid, port, Path(f"/proc/{pid}/cwd").resolve()


def test_demo_process_runs_a_missed_call_with_no_settings_and_stops_on_ctrl_c(
    tmp_path: Path, stop_later: list[subprocess.Popen[bytes]]
) -> None:
    (tmp_path / ".env").write_text(
        "REDIS_URL=redis://127.0.0.1:1/0\nPORT=1\nSLACK_BOT_TOKEN=xoxb-real\n"
        "PUBLIC_URL=https://real.example.com\nBUSINESS_NAME=Real Co\n"
    )
    process, base, out, err = start_demo(tmp_path)
    stop_later.append(process)

    asyncio.run(a_missed_call_goes_around(base, process, err))
    assert f"Open {base}/demo" in out.read_text()

    started = children(process.pid)
    _, redis_port, redis_dir = redis_of(process)
    assert local_redis.answers("127.0.0.1", redis_port)
    assert redis_dir.name == "redis" and not redis_dir.is_relative_to(tmp_path)

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0, err.read_text()
    logs = err.read_text()
    assert "Demo stopped." in out.read_text()
    for trouble in ("Traceback", "Unclosed", "Task was destroyed", "ERROR"):
        assert trouble not in logs, logs
    assert not any(Path(f"/proc/{pid}").exists() for pid in started), "a child outlived it"
    assert not local_redis.answers("127.0.0.1", redis_port)
    assert not redis_dir.exists()  # its scratch directory went with it
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env", "stderr.txt", "stdout.txt"]


def test_a_demo_killed_outright_takes_its_redis_with_it(
    tmp_path: Path, stop_later: list[subprocess.Popen[bytes]]
) -> None:
    """SIGKILL runs none of our cleanup: the server, in a session of its own, still stops."""
    process, base, _, err = start_demo(tmp_path)
    stop_later.append(process)
    asyncio.run(wait_until(lambda: page_answers(base, process, err), timeout=60, interval=0.2))
    redis, redis_port, redis_dir = redis_of(process)

    process.kill()
    process.wait(timeout=10)

    def stopped() -> bool:
        return not Path(f"/proc/{redis}").exists() and not local_redis.answers(
            "127.0.0.1", redis_port
        )

    asyncio.run(wait_until(stopped, timeout=15, message="the demo's Redis outlived it"))
    shutil.rmtree(redis_dir.parent)  # its scratch directory: only a clean stop removes it


async def page_answers(base: str, process: subprocess.Popen[bytes], err: Path) -> bool:
    assert process.poll() is None, f"the demo exited: see {err}"
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{base}/demo") as response:
            return response.status == 200 and "textback demo" in await response.text()
    except aiohttp.ClientError:
        return False


async def a_missed_call_goes_around(base: str, process: subprocess.Popen[bytes], err: Path) -> None:
    """Through the demo's own endpoints, as its page does: the page, a call, /demo/state."""
    async with aiohttp.ClientSession() as http:
        await wait_until(
            lambda: page_answers(base, process, err),
            timeout=60,
            interval=0.2,
            message="the demo page never answered",
        )

        async with http.post(f"{base}/demo/call", json={"choice": "no-answer"}) as response:
            assert response.status == 202

        async def around() -> bool:
            async with http.get(f"{base}/demo/state") as response:
                state = await response.json()
            texts = phone_texts(state)
            return bool(texts and cards(state) and "Johnson Electric" in texts[0])

        await wait_until(around, timeout=60, interval=0.2, message="no text or no lead card")
