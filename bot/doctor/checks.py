"""Runs the checks side by side, each under its own timeout, and shows progress meanwhile.

A check appends its findings as it goes, so one that runs out of time keeps what it found
before, and a service that hangs or refuses never hides what the others found.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

import aiohttp
from redis.exceptions import RedisError
from slack_sdk.errors import SlackClientError
from twilio.base.exceptions import TwilioException

from bot.doctor.report import Finding, Section, fail

# What a service can raise that is about the service, not about our code: a check turns each
# into a ✗ finding. Anything else is a bug and stops the doctor with its traceback.
SERVICE_ERRORS = (OSError, aiohttp.ClientError, RedisError, SlackClientError, TwilioException)
TICK = 0.5  # seconds between progress updates on a terminal
# Subjects of the findings a check gets when its service didn't answer (or failed) as a whole.
NO_ANSWER, ERROR = "no answer", "error"


@dataclass(frozen=True)
class Check:
    name: str  # the section heading: "Slack", "Twilio", ...
    run: Callable[[list[Finding]], Awaitable[None]]  # appends its findings as it goes
    unreachable: str  # what to look at when the service doesn't answer in time


class Progress:
    """Which checks are still waiting, on stderr: one line rewritten in place on a terminal,
    a line per finished check otherwise (a log, CI)."""

    def __init__(self, out: TextIO | None) -> None:
        self.out = out
        self.tty = bool(out is not None and out.isatty())
        self.waiting: list[str] = []
        self.started = time.monotonic()

    def start(self, names: Sequence[str], seconds: float) -> None:
        self.waiting = list(names)
        self.started = time.monotonic()
        if self.out is not None and not self.tty:
            print(
                f"Checking {', '.join(names)} (at most {seconds:g} s each)...",
                file=self.out,
                flush=True,
            )

    def done(self, name: str, seconds: float) -> None:
        if name in self.waiting:
            self.waiting.remove(name)
        if self.out is not None and not self.tty:
            print(f"  {name}: done in {seconds:.1f} s", file=self.out, flush=True)
        else:
            self.show()

    def show(self) -> None:
        if not self.tty or self.out is None:
            return
        if self.waiting:
            elapsed = time.monotonic() - self.started
            line = f"Checking... waiting on {', '.join(self.waiting)} ({elapsed:.0f} s)"
            self.out.write(f"\r\033[K{line}")
        else:
            self.out.write("\r\033[K")
        self.out.flush()

    async def tick(self) -> None:
        while self.tty and self.waiting:
            self.show()
            await asyncio.sleep(TICK)


async def run_checks(
    checks: Sequence[Check], seconds: float, progress: Progress | None = None
) -> list[Section]:
    """Every check at once, each for at most `seconds`; the sections come back in the order
    the checks were given."""
    progress = progress or Progress(None)

    async def one(check: Check) -> Section:
        found: list[Finding] = []
        started = time.monotonic()
        try:
            async with asyncio.timeout(seconds):
                await check.run(found)
        except TimeoutError:
            found.append(fail("no answer", f"nothing within {seconds:g} s", check.unreachable))
        except SERVICE_ERRORS as exc:
            found.append(fail(ERROR, f"{type(exc).__name__}: {exc}", check.unreachable))
        finally:
            progress.done(check.name, time.monotonic() - started)
        return Section(check.name, tuple(found))

    progress.start([check.name for check in checks], seconds)
    ticker = asyncio.create_task(progress.tick())
    try:
        return list(await asyncio.gather(*(one(check) for check in checks)))
    finally:
        ticker.cancel()
        progress.show()


def incomplete(sections: Sequence[Section]) -> bool:
    """A service didn't answer, or failed as a whole: the report says more about the moment
    than about the setup."""
    return any(f.subject in (NO_ANSWER, ERROR) for s in sections for f in s.findings)
