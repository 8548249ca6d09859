"""Taking a turn in a pacing schedule shared by every worker (a channel's posts, its card
updates), without holding a worker slot while the turn is far off."""

from __future__ import annotations

import asyncio

from bot.domain.jobs import Job
from bot.outbox.errors import Retry
from bot.services import Services

TURN_WAIT_IN_SLOT = 1.0  # seconds a job may wait for its turn holding a worker slot
TURN_EARLY = 0.5  # a deferred job comes back this long before its turn, and waits the rest


class Deferred(Retry):
    """Not a failure: the job's turn in a pacing schedule comes at `turn_at`, and it holds that
    turn. The worker puts it back on the retry schedule, using no attempt, to come back
    `after` seconds from now: TURN_EARLY before its turn, and waits the rest in a slot. The
    worker that defers it wakes for it when it is due, but Redis or a busy loop may be a little
    late, and a post that arrived late would crowd the next one into a 429."""

    def __init__(self, turn_at: float, now: float) -> None:
        super().__init__("waiting for its turn", after=max(0.0, turn_at - now - TURN_EARLY))
        self.turn_at = turn_at


async def take_turn(services: Services, job: Job, schedule: str, per_second: float) -> None:
    """Waits for the job's turn in a schedule. A turn more than TURN_WAIT_IN_SLOT away is waited
    for on the retry schedule (Deferred), not in a worker slot: a burst to one channel would
    otherwise fill every slot with posts asleep for their turn, and other channels' posts wait
    behind them."""
    now = services.clock()
    if job.turn is not None and job.turn.attempt == job.attempt:
        # Back for the turn it holds (a retry after a failure asks again).
        wait = job.turn.at - now
    else:
        wait = await services.pacing.turn(schedule, now, per_second)
        if wait > TURN_WAIT_IN_SLOT:
            raise Deferred(turn_at=now + wait, now=now)
    if wait > 0:
        await asyncio.sleep(wait)  # pacing to Slack's rate, not synchronisation
