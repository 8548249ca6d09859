"""What a caller's first reply costs: `python -m tests.bench_reply [--replies 200] [--top 15]`.

Starts a private redis-server, the loopback Slack and Twilio stand-ins and the real app with its
worker; N callers each miss a call (auto-text sent, lead card posted). Then the worker stops and
a second copy of the app, without a worker, takes the N callers' first replies one after another
through a proxy that counts Redis round trips (tests/redis_counter.py). Prints, per reply: round
trips, CPU milliseconds of this process and profiled function calls (cProfile), both including
the test client that signs and sends the webhook. The first tenth of the replies warms up (Lua
scripts loaded, connections opened); of the rest, half is timed, half profiled. --top N also
lists the N functions with the most own time in the profiled half.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import pstats
import sys
import time
import uuid
from pathlib import Path

from bot import local_redis
from tests.conftest import Clock, start_harness
from tests.redis_cost import callers
from tests.round_trips import counted_app
from tests.standins import SlackStandIn, TwilioStandIn
from tests.waiting import wait_until


async def run(count: int, top: int) -> None:
    numbers = callers(count)
    # A tenth warms up; of the rest, half is timed (profiler off), half profiled.
    start = max(1, count // 10)
    warm, measured = numbers[:start], numbers[start:]
    timed, profiled = measured[: len(measured) // 2], measured[len(measured) // 2 :]
    port = local_redis.free_port()
    process = local_redis.start(port, None, persist=False)
    try:
        async with SlackStandIn() as slack, TwilioStandIn() as twilio:
            h = await start_harness(
                f"redis://127.0.0.1:{port}/0", f"tbbench-{uuid.uuid4().hex[:8]}", slack, twilio,
                Clock(),
            )  # fmt: skip
            try:
                for number in numbers:
                    assert (await h.missed_call(caller=number)).status == 200
                await wait_until(lambda: len(slack.posts) >= count, timeout=120)
                await h.drained(timeout=120)
            finally:
                await h.client.close()  # the worker stops: only the replies run from here
            async with counted_app(h) as (replies, trips):
                for number in warm:
                    await replies.caller_text("Can you come Tuesday?", caller=number)
                trips.reset()
                cpu = time.process_time()
                for number in timed:
                    assert (await replies.caller_text("Can you come Tuesday?", caller=number)).ok
                cpu = time.process_time() - cpu
                profile = cProfile.Profile()
                profile.enable()
                for number in profiled:
                    assert (await replies.caller_text("Can you come Tuesday?", caller=number)).ok
                profile.disable()
    finally:
        process.terminate()
        process.wait(timeout=10)
    n = len(measured)
    stats = pstats.Stats(profile)
    calls = stats.total_calls  # type: ignore[attr-defined]
    print(f"{n} first replies (after {len(warm)} to warm up), one at a time, per reply:")
    print(f"  redis round trips  {trips.round_trips / n:6.2f}")
    print(f"  cpu ms             {cpu * 1000 / len(timed):6.2f}  (this process, client included)")
    print(f"  profiled calls     {calls / len(profiled):6.0f}  (cProfile, client included)")
    if top:
        print(f"the {top} functions with the most own time, per reply (cProfile inflates them):")
        for line in top_functions(stats, len(profiled), top):
            print(f"  {line}")


def top_functions(stats: pstats.Stats, replies: int, top: int) -> list[str]:
    """Own time and calls per reply of the `top` costliest functions, as `ms calls where`."""
    rows = []
    for (path, lineno, name), (_, calls, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{_short(path)}:{lineno}({name})" if lineno else name
        rows.append((own, calls, where))
    rows.sort(reverse=True)
    return [
        f"{own * 1000 / replies:6.3f} ms {calls / replies:6.1f} calls  {where}"
        for own, calls, where in rows[:top]
    ]


def _short(path: str) -> str:
    """Where a function lives, short: bot/flows/x.py, redis/client.py, asyncio/events.py."""
    for marker in ("site-packages/", f"python{sys.version_info[0]}.{sys.version_info[1]}/"):
        if marker in path:
            return path.split(marker, 1)[1]
    root = str(Path(__file__).resolve().parents[1]) + "/"
    return path.removeprefix(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--replies", type=int, default=200, choices=range(10, 201), metavar="10..200"
    )
    parser.add_argument(
        "--top", type=int, default=0, metavar="N", help="also list the N costliest functions"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(run(args.replies, args.top))


if __name__ == "__main__":
    main()
