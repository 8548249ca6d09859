"""How many jobs of one queue a worker runs at once: an adaptive limit (AIMD).

Jobs mostly wait on the network, so many run at once (WORKER_CONCURRENCY). When the upstream
says too many at once (Twilio's 20429), the limit halves; each job done without that grows it by
1/limit, so it climbs back by about one per limit's worth of jobs, up to the setting.
"""

from __future__ import annotations

import asyncio


class Slots:
    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self.limit = float(ceiling)
        self.busy = 0
        self.cuts = 0  # times the limit was halved
        self._started = 0  # jobs started so far: tells a job's start from the last cut
        self._cut_after = 0
        self._freed = asyncio.Event()

    @property
    def free(self) -> int:
        return max(0, int(self.limit) - self.busy)

    async def wait_free(self) -> int:
        """Until at least one slot is free; how many are."""
        while not self.free:
            self._freed.clear()
            await self._freed.wait()
        return self.free

    def take(self) -> int:
        """A job starts (even past the limit: a job read is run, not held). Its ticket."""
        self.busy += 1
        self._started += 1
        return self._started

    def release(self, ticket: int, *, throttled: bool) -> bool:
        """A job is done; whether its refusal cut the limit."""
        self.busy -= 1
        self._freed.set()
        if not throttled:
            self.limit = min(float(self.ceiling), self.limit + 1 / self.limit)
            return False
        if ticket > self._cut_after:
            # Halved once per round of jobs: the others of the round that were refused
            # started before this cut, and they say nothing the cut didn't hear.
            self.limit = max(1.0, self.limit / 2)
            self._cut_after = self._started
            self.cuts += 1
            return True
        return False
