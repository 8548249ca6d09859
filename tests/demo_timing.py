"""How the demo feels: `python -m tests.demo_timing [--rounds 3]`.

Starts `python -m bot demo` as a process (only PATH set), and prints how long it takes to answer,
then, for each round (a new caller each time): a call nobody answers until the phone shows the
text and the channel the card (the crew's phone rings its 5 s first), the caller's reply until
it is in the thread, a crew reply until the phone shows it; then what /demo/state weighs and
takes, and how long Ctrl-C takes to stop it all. Figures only, no assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from bot import local_redis
from tests.demo_helpers import cards, phone_texts, thread_texts


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 60) -> float:
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > timeout:
            raise TimeoutError("the demo did not get there")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def rounds(base: str, count: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {}
    async with aiohttp.ClientSession() as http:

        async def state() -> dict[str, Any]:
            async with http.get(f"{base}/demo/state") as response:
                found: dict[str, Any] = await response.json()
                return found

        async def post(path: str, body: dict[str, Any]) -> None:
            async with http.post(f"{base}{path}", json=body) as response:
                assert response.status < 300, await response.text()

        async def answers() -> bool:
            try:
                async with http.get(f"{base}/demo") as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        def add(name: str, seconds: float) -> None:
            figures.setdefault(name, []).append(seconds)

        async def one_round(index: int) -> None:
            if index:
                await post("/demo/caller", {})
            await post("/demo/call", {"choice": "no-answer"})

            async def texted() -> bool:
                return bool(phone_texts(await state()))

            async def carded() -> bool:
                return len(cards(await state())) > index  # one card per caller

            started = time.monotonic()
            add("call → text on the phone (5 s ring)", await until(texted))
            await until(carded)
            add("call → card in the channel", time.monotonic() - started)
            card = cards(await state())[index]
            await post("/demo/text", {"body": f"Reply {index}"})

            async def in_thread() -> bool:
                return any(f"Reply {index}" in t for t in thread_texts(cards(await state())[index]))

            add("caller's text → in the thread", await until(in_thread))
            answer = {"user": "U0DEV", "text": f"Answer {index}", "thread_ts": card["ts"]}
            await post("/demo/slack/message", answer)

            async def on_phone() -> bool:
                return f"Answer {index}" in phone_texts(await state())

            add("crew reply → on the phone", await until(on_phone))

        figures["start → page answers"] = [await until(answers)]
        for index in range(count):
            await one_round(index)
        started = time.monotonic()
        async with http.get(f"{base}/demo/state") as response:
            body = await response.read()
        figures["GET /demo/state (ms)"] = [(time.monotonic() - started) * 1000]
        figures["/demo/state size (KB)"] = [len(body) / 1024]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = local_redis.free_port()
    with tempfile.TemporaryDirectory() as cwd:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "demo", "--port", str(port)],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            figures = asyncio.run(rounds(f"http://127.0.0.1:{port}", args.rounds))
            started = time.monotonic()
            process.send_signal(signal.SIGINT)
            code = process.wait(timeout=30)
            figures[f"Ctrl-C → exited (code {code})"] = [time.monotonic() - started]
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    print(f"{'':40} {'median':>8} {'worst':>8}  (s unless said; {args.rounds} rounds)")
    for name, values in figures.items():
        print(f"{name:40} {statistics.median(values):8.2f} {max(values):8.2f}")


if __name__ == "__main__":
    main()
