"""What an idle process costs Redis: `python -m tests.idle_traffic [--seconds 30]`.

Starts `python -m bot serve` (the web app with its worker) and `python -m bot worker`, each
against the loopback Slack and Twilio stand-ins and talking to Redis through a counting proxy of
its own (tests/redis_counter.py), so the shared Redis's other clients don't count. Once each has
made its first maintenance rounds, counts for --seconds with nothing happening, and prints
commands a second per process, by command name.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid

from redis.asyncio import Redis

from bot import local_redis
from storage.connection import connect
from tests.conftest import CHANNEL, PUBLIC_URL, SIGNING_SECRET
from tests.load.procs import app_env
from tests.redis_counter import CountingProxy
from tests.standins import SlackStandIn, TwilioStandIn
from tests.waiting import wait_until

PROCESSES = ("serve", "worker")


async def measure(redis_url: str, seconds: float) -> dict[str, CountingProxy]:
    prefix = f"tbidle-{uuid.uuid4().hex[:10]}"
    proxies = {name: CountingProxy(redis_url) for name in PROCESSES}
    processes: list[asyncio.subprocess.Process] = []
    async with SlackStandIn() as slack, TwilioStandIn() as twilio:
        for proxy in proxies.values():
            await proxy.__aenter__()
        try:
            for name, proxy in proxies.items():
                env = app_env(
                    public_url=PUBLIC_URL,
                    redis_url=proxy.url,
                    prefix=prefix,
                    slack=slack,
                    twilio=twilio,
                    signing_secret=SIGNING_SECRET,
                    channel=CHANNEL,
                )
                env |= {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
                env |= {"PORT": str(local_redis.free_port()), "WEEKLY_DIGEST": "true"}
                processes.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "bot",
                        name,
                        env=env,
                        stdout=asyncio.subprocess.DEVNULL,
                        stderr=asyncio.subprocess.DEVNULL,
                    )
                )
            for proxy in proxies.values():  # started: its first rounds are behind it
                await wait_until(lambda p=proxy: p.commands["EVALSHA"] >= 2, timeout=60)  # type: ignore[misc]
                proxy.reset()
            await asyncio.sleep(seconds)  # the window measured, not a wait for something
            return proxies
        finally:
            for process in processes:
                if process.returncode is None:
                    process.terminate()
                await process.wait()
            for proxy in proxies.values():
                await proxy.__aexit__()
            await _forget(redis_url, prefix)


async def _forget(redis_url: str, prefix: str) -> None:
    redis: Redis = connect(redis_url)
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=1000)]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


def report(proxies: dict[str, CountingProxy]) -> None:
    for name, proxy in proxies.items():
        print(f"{name}: {proxy.total_per_second():.2f} Redis commands/s idle")
        for command, rate in proxy.per_second().items():
            print(f"  {command:<14} {rate:6.2f}/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="the idle window counted")
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/13",
        help="one Redis server (not a cluster); keys go under a prefix of their own",
    )
    args = parser.parse_args()
    report(asyncio.run(measure(args.redis_url, args.seconds)))


if __name__ == "__main__":
    main()
