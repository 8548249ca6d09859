"""What each caller costs Redis: `python -m tests.redis_cost [--callers 100] [--cluster]`.

Starts a private Redis (or, with --cluster, a private 3-master cluster) and the real app with its
worker in-process, against the loopback Slack and Twilio stand-ins. Then, for N distinct callers,
three phases, each waited out until the outbox is empty: a missed call (auto-text + lead card), a
caller's reply (relayed into the thread), a crew reply in the thread (texted to the caller).

The first half of the callers warms up (scripts loaded, connections opened); the second half
is measured. Prints, per phase, Redis commands per event from INFO commandstats (commands run
inside Lua scripts included; the worker's idle polling, measured beforehand, and this script's own
outbox-depth polls subtracted); then the memory each caller holds: MEMORY USAGE summed over the
run's keys by key shape, and the growth of INFO used_memory over the measured half.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from bot import local_redis
from bot.domain.jobs import QUEUES
from tests import local_cluster
from tests.conftest import Clock, Harness, start_harness
from tests.standins import SlackStandIn, TwilioStandIn
from tests.waiting import wait_until

IDLE_SECONDS = 3.0
BATCH = 10  # webhooks in flight at once


@dataclass
class Phase:
    name: str
    events: int
    seconds: float
    commands: Counter[str] = field(default_factory=Counter)

    @property
    def per_event(self) -> float:
        return sum(self.commands.values()) / self.events


def callers(count: int) -> list[str]:
    """Distinct valid numbers: +1 202 555 0100..0199, then +1 212 555 0100..0199."""
    numbers = [f"+1202555{n:04d}" for n in range(100, 200)]
    numbers += [f"+1212555{n:04d}" for n in range(100, 200)]
    return numbers[:count]


class Counters:
    """INFO commandstats and used_memory, summed over every node."""

    def __init__(self, ports: list[int]) -> None:
        self.nodes = [Redis(port=port, decode_responses=True) for port in ports]

    async def commands(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for node in self.nodes:
            stats = await node.info("commandstats")
            for name, values in stats.items():
                total[name.removeprefix("cmdstat_")] += int(values["calls"])
        total["info"] -= len(self.nodes)  # our own INFO call
        return total

    async def used_memory(self) -> int:
        return sum([int((await node.info("memory"))["used_memory"]) for node in self.nodes])

    async def close(self) -> None:
        for node in self.nodes:
            await node.aclose()


async def measure(
    counters: Counters, idle: dict[str, float], run: Callable[[Counter[str]], Awaitable[None]]
) -> tuple[Counter[str], float]:
    """What `run` cost Redis, less idle polling and less what `run` says it spent itself."""
    own: Counter[str] = Counter()
    before, started = await counters.commands(), time.monotonic()
    await run(own)
    after, seconds = await counters.commands(), time.monotonic() - started
    spent: Counter[str] = Counter()
    for name in after:
        net = after[name] - before[name] - own[name] - idle.get(name, 0.0) * seconds
        if net > 0.5:
            spent[name] = round(net)
    return spent, seconds


async def idle_rate(counters: Counters) -> dict[str, float]:
    """What the worker's polling costs per second with nothing to do."""
    before = await counters.commands()
    await asyncio.sleep(IDLE_SECONDS)  # a measurement window, not synchronisation
    after = await counters.commands()
    return {name: (after[name] - before[name]) / IDLE_SECONDS for name in after}


async def drive(
    h: Harness, numbers: list[str], counters: Counters, idle: dict[str, float]
) -> list[Phase]:
    """The three phases for these callers, each waited out; what each cost Redis."""
    texts, posts = len(h.twilio.messages), len(h.slack.posts)

    async def in_batches(send: Callable[[str], Awaitable[Any]], own: Counter[str]) -> None:
        for i in range(0, len(numbers), BATCH):
            replies = await asyncio.gather(*(send(n) for n in numbers[i : i + BATCH]))
            assert all(r.status == 200 for r in replies), [r.status for r in replies]

        async def empty() -> bool:  # the outbox's depth: XLEN and ZCARD per queue, ours
            own.update({"xlen": len(QUEUES), "zcard": len(QUEUES)})
            return not any((await h.services.outbox.depth()).values())

        await wait_until(empty, timeout=120, interval=0.05, message="outbox did not drain")

    async def missed_calls(own: Counter[str]) -> None:
        await in_batches(lambda n: h.missed_call(caller=n), own)
        await wait_until(lambda: len(h.twilio.messages) >= texts + len(numbers), timeout=60)

    async def caller_replies(own: Counter[str]) -> None:
        await in_batches(lambda n: h.caller_text("Can you come Tuesday?", caller=n), own)
        await wait_until(lambda: len(h.slack.posts) >= posts + 2 * len(numbers), timeout=60)

    cards: dict[str, str] = {}

    async def crew_replies(own: Counter[str]) -> None:
        await in_batches(lambda n: h.crew_reply(cards[n], "Tuesday 9am works."), own)
        await wait_until(lambda: len(h.twilio.messages) >= texts + 2 * len(numbers), timeout=60)

    phases: list[Phase] = []
    spent, seconds = await measure(counters, idle, missed_calls)
    phases.append(Phase("missed call", len(numbers), seconds, spent))
    spent, seconds = await measure(counters, idle, caller_replies)
    phases.append(Phase("caller reply", len(numbers), seconds, spent))
    for (channel, ts), message in h.slack.messages.items():
        owner = await h.services.threads.owner(channel, ts)
        if not message.get("thread_ts") and owner is not None and owner.phone in numbers:
            cards[owner.phone] = ts
    assert len(cards) == len(numbers), f"{len(cards)} lead cards for {len(numbers)} callers"
    spent, seconds = await measure(counters, idle, crew_replies)
    phases.append(Phase("crew reply", len(numbers), seconds, spent))
    return phases


WORDS = {
    "line", "parked", "lead", "job", "call", "sms", "ledger", "update-queued", "thread", "sent",
    "stats", "leads", "reminders", "response", "pace", "intake", "nonce", "slack-event", "dead",
    "screened", "last-error", "{outbox}", "{N}",
}  # fmt: skip


def kind(key: str, prefix: str) -> str:
    """The key's shape: tb:{+12025550123}:lead:4f2a -> {N}:lead:*."""
    parts = key.removeprefix(prefix + ":").split(":")
    parts = ["{N}" if p.startswith("{+") else p for p in parts]
    return ":".join(p if p in WORDS else "*" for p in parts)


async def memory(redis: Redis, prefix: str) -> tuple[Counter[str], int]:
    """Bytes by key shape (MEMORY USAGE, every element counted), and the number of keys."""
    sizes: Counter[str] = Counter()
    count = 0
    async for key in redis.scan_iter(match=f"{prefix}:*", count=1000):
        sizes[kind(key, prefix)] += int(await redis.memory_usage(key, samples=0) or 0)
        count += 1
    return sizes, count


async def run(count: int, cluster: bool, undo: float) -> None:
    numbers = callers(count)
    prefix = f"tbcost-{uuid.uuid4().hex[:8]}"
    if cluster:
        nodes = local_cluster.start()
        url, ports, stop = nodes.url, nodes.ports, nodes.stop
    else:
        port = local_redis.free_port()
        process = local_redis.start(port, None, persist=False)
        url, ports, stop = f"redis://127.0.0.1:{port}/0", [port], process.terminate
    counters = Counters(ports)
    try:
        async with SlackStandIn() as slack, TwilioStandIn() as twilio:
            h = await start_harness(
                url,
                prefix,
                slack,
                twilio,
                Clock(),
                worker_read_block_ms=500,
                reply_undo_seconds=undo,
            )
            try:
                idle = await idle_rate(counters)
                # The first half warms up (scripts loaded, connections open, groups made); the
                # second is measured, so fixed costs stay out of the per-caller figures.
                half = len(numbers) // 2
                await drive(h, numbers[:half], counters, idle)
                memory_half = await counters.used_memory()
                phases = await drive(h, numbers[half:], counters, idle)
                memory_after = await counters.used_memory()
                sizes, keys = await memory(h.services.redis, prefix)
            finally:
                await h.client.close()
    finally:
        await counters.close()
        stop()
    where = "a 3-master cluster" if cluster else "one private redis-server"
    n, measured = len(numbers), len(numbers) - half
    print(
        f"{n} callers on {where}, each: a missed call, a caller reply, a crew reply "
        f"(REPLY_UNDO_SECONDS={undo:g}); the last {measured} measured"
    )
    for phase in phases:
        top = ", ".join(
            f"{name} {calls / phase.events:.1f}" for name, calls in phase.commands.most_common(6)
        )
        print(f"  {phase.name:<13} {phase.per_event:5.1f} commands/event  ({top})")
    total = sum(p.per_event for p in phases)
    print(f"  all three     {total:5.1f} commands per caller")
    own = sum(size for name, size in sizes.items() if name.startswith("{N}"))
    print(
        f"memory per caller: {sum(sizes.values()) / n:,.0f} bytes by MEMORY USAGE in "
        f"{keys / n:.1f} keys ({own / n:,.0f} in the caller's own keys, tagged with the number); "
        f"used_memory grew {(memory_after - memory_half) / measured:,.0f} bytes per measured caller"
    )
    for name, size in sizes.most_common():
        print(f"  {name:<28} {size / n:7,.0f} bytes/caller")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--callers", type=int, default=100, choices=range(2, 201), metavar="2..200")
    parser.add_argument("--cluster", action="store_true", help="on a private 3-master cluster")
    parser.add_argument(
        "--undo-seconds", type=float, default=10.0, help="REPLY_UNDO_SECONDS (0: replies at once)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # retries while a card is posted are expected
    asyncio.run(run(args.callers, args.cluster, args.undo_seconds))


if __name__ == "__main__":
    main()
