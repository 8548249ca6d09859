"""The outbox worker: reads jobs, performs them, retries what may succeed later.

Runs inside `serve` by default, or alone as `python -m bot worker`; any number of workers share
the queues through the Redis consumer group.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
from dataclasses import replace

from redis.exceptions import RedisError

from bot.domain import webhooks
from bot.domain.jobs import QUEUES, Job, Queue, WebhookDelivery
from bot.flows import reminders, reports
from bot.outbox import holds, traces
from bot.outbox import webhooks as webhook_deliveries
from bot.outbox.errors import Held, Retry
from bot.outbox.limits import Slots
from bot.outbox.pacing import Deferred
from bot.outbox.perform import perform
from bot.services import Services
from storage.outbox import Delivery

log = logging.getLogger(__name__)

MAX_ATTEMPTS: dict[Queue, int] = {
    "sms": 12,
    "slack": 60,  # hours of outage, then give up
    # The specification's schedule: about three days. A delivery's own last attempt keeps it
    # as failed (bot/outbox/webhooks.py) before this limit would bury it.
    "webhooks": webhooks.ATTEMPTS,
}
MAX_BACKOFF = 300.0
REMINDERS_EVERY = 5.0  # seconds of the clock between looks at the reminders (due in minutes)


def backoff(attempt: int, retry_after: float | None) -> float:
    """Exponential with jitter, never sooner than the server's Retry-After."""
    delay = min(MAX_BACKOFF, 0.5 * 2**attempt) * random.uniform(0.5, 1.0)
    return max(delay, retry_after or 0.0)


class Worker:
    def __init__(
        self,
        services: Services,
        concurrency: int | None = None,
        queues: tuple[Queue, ...] = QUEUES,
        reclaim_idle_ms: int | None = None,
    ) -> None:
        self.services = services
        self.queues = queues
        # Default WORKER_RECLAIM_SECONDS; tests pass a short one.
        self.reclaim_idle_ms = reclaim_idle_ms or int(
            services.settings.worker_reclaim_seconds * 1000
        )
        self.concurrency = concurrency or services.settings.worker_concurrency
        self.name = f"{socket.gethostname()}-{os.getpid()}-{random.randrange(1 << 16):04x}"
        self._stopping = asyncio.Event()
        self._in_flight: set[asyncio.Task[object]] = set()
        # Stream entries this worker holds (read, waiting for a slot, or running): it renews
        # their idle time, so only a dead worker's entries ever look idle enough to reclaim.
        self._held: dict[Queue, set[str]] = {queue: set() for queue in queues}
        self._holds = holds.Holds(services)  # jobs waiting while Slack's wiring is broken
        # Each queue's jobs in flight: up to `concurrency`, fewer while Twilio says too many.
        self.slots: dict[Queue, Slots] = {queue: Slots(self.concurrency) for queue in queues}
        self._readers: list[asyncio.Task[None]] = []  # one blocking read loop per queue
        self._wake = asyncio.Event()  # set by a stop, or a job scheduled before the next round
        self._wake_at: float | None = None  # the soonest job this process scheduled
        self._renewed = float("-inf")  # monotonic time of the last renew and reclaim
        self._reminders_at = float("-inf")  # clock time of the next look at reminders
        self._digest_minute = -1  # the clock's minute the digest was last looked at

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.services.outbox.ensure_groups()
                break
            except RedisError as exc:
                log.warning("redis not ready (%s); worker retrying", type(exc).__name__)
                await self._pause(1.0)
        log.info("worker started name=%s concurrency=%d", self.name, self.concurrency)
        self._readers = [
            asyncio.create_task(self._consume(queue), name=f"outbox-read-{queue}")
            for queue in self.queues
        ]
        try:
            await self._maintain()  # returns once stopping
        finally:
            await _ended(self._readers)  # stop() ends them; here too when run() is cancelled

    async def stop(self, grace: float = 8.0) -> None:
        """Finish what is in flight; whatever isn't acknowledged stays queued for another worker."""
        self._stopping.set()
        self._wake.set()
        # A read blocks up to WORKER_READ_BLOCK_MS (10 s): end it now. redis-py drops the
        # connection of a command cancelled midway (it can't be reused half read); an entry the
        # read had just taken stays pending in the group, and is reclaimed like any other.
        await _ended(self._readers)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        # Again until none is left: a read that was under way when the stop came may still
        # have started a job or two.
        while self._in_flight and (left := deadline - loop.time()) > 0:
            await asyncio.wait(set(self._in_flight), timeout=left)

    async def shutdown(self, task: asyncio.Task[None], grace: float = 8.0) -> None:
        """Stop, and let the maintenance round under way end by itself (cancelled after 2 s)."""
        await self.stop(grace)
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=2.0)
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _consume(self, queue: Queue) -> None:
        outbox = self.services.outbox
        slots = self.slots[queue]
        while not self._stopping.is_set():
            # Read only as many jobs as there are free slots: what this worker cannot start now
            # stays in the stream for another worker, not held here behind a busy one.
            free = await slots.wait_free()
            if self._stopping.is_set():
                break
            try:
                deliveries = await outbox.read(
                    queue,
                    self.name,
                    count=free,
                    block_ms=self.services.settings.worker_read_block_ms,
                )
            except Exception as exc:  # Redis restarting: back off, don't die
                log.error("outbox read failed queue=%s error=%s", queue, exc)
                if "NOGROUP" in str(exc):
                    await self._recreate_groups()  # Redis lost its data (restart without AOF)
                await self._pause(1.0)
                continue
            self._held[queue].update(d.message_id for d in deliveries)
            for delivery in deliveries:
                if self._stopping.is_set():
                    # Stopping: start nothing new. The rest stay pending in the group, and
                    # with nobody renewing them the next worker reclaims them.
                    break
                ticket = slots.take()  # now, so the next read counts it busy
                task = asyncio.create_task(self._in_slot(slots, ticket, delivery))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)

    async def _in_slot(self, slots: Slots, ticket: int, delivery: Delivery) -> None:
        throttled = False
        try:
            throttled = await self._handle(delivery)
        finally:
            if slots.release(ticket, throttled=throttled):
                log.warning(
                    "too many requests at once queue=%s: %d jobs at a time now",
                    delivery.queue,
                    slots.limit,
                )
            self.services.metrics.worker_slots.labels(delivery.queue).set(int(slots.limit))

    async def _maintain(self) -> None:
        """Move due retries back onto the streams and take over jobs of dead workers.

        A round is one Redis command when nothing is going on (Outbox.maintain), and the loop
        sleeps until the next job is due: at most WORKER_IDLE_SECONDS, since another process
        may schedule one sooner; as soon as this process does (retry_later, a crew reply's undo
        window), it wakes for it."""
        self.services.outbox.watch_schedule(self._scheduled)
        try:
            while not self._stopping.is_set():
                now = self.services.clock()
                if self._wake_at is not None and self._wake_at <= now:
                    self._wake_at = None
                next_due = None
                try:
                    next_due = await self._round(now)
                except RedisError as exc:  # Redis restarting: try again next round
                    log.error("outbox maintenance failed: redis %s", exc)
                except Exception:
                    log.exception("outbox maintenance failed")
                idle = now + self.services.settings.worker_idle_seconds
                await self._sleep_until(min(next_due, idle) if next_due is not None else idle)
        finally:
            self.services.outbox.unwatch_schedule(self._scheduled)

    async def _round(self, now: float) -> float | None:
        """One maintenance round; returns when the next scheduled job is due."""
        outbox = self.services.outbox
        # Well inside the reclaim time: renew what this worker holds, and take over what a
        # dead worker left (only where some entry is pending at all).
        renew = time.monotonic() - self._renewed >= self.reclaim_idle_ms / 3000
        found = await outbox.maintain(now, pending=renew)
        if found.broken:
            await self._holds.maintain()
        else:
            self.services.holds.none_broken()  # the happy path: nothing to read
        if renew:
            for queue in self.queues:
                await outbox.renew(queue, self.name, list(self._held[queue]))
                if found.pending[queue]:
                    await self._reclaim(queue)
            self._renewed = time.monotonic()
        if now >= self._reminders_at:
            await reminders.fire_due(self.services)  # due in minutes: a look every few seconds
            self._reminders_at = now + REMINDERS_EVERY
        if int(now // 60) != self._digest_minute:
            await reports.maybe_post_digest(self.services)  # Monday morning: once a minute
            self._digest_minute = int(now // 60)
        return found.next_due

    async def _reclaim(self, queue: Queue) -> None:
        reclaimed = [
            delivery
            for delivery in await self.services.outbox.reclaim(
                queue, self.name, self.reclaim_idle_ms
            )
            # Ours and still running: idle only because Redis was away a while.
            if delivery.message_id not in self._held[queue]
        ]
        self._held[queue].update(d.message_id for d in reclaimed)
        for delivery in reclaimed:
            if self._stopping.is_set():
                break
            log.warning("reclaimed job queue=%s id=%s", queue, delivery.message_id)
            task = asyncio.create_task(self._handle(delivery))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    def _scheduled(self, due: float) -> None:
        """This process scheduled a job due at `due`: the loop looks by then."""
        if self._wake_at is None or due < self._wake_at:
            self._wake_at = due
            self._wake.set()

    async def _sleep_until(self, at: float) -> None:
        """Until `at` (the services' clock), or sooner for a job scheduled sooner, or a stop."""
        while not self._stopping.is_set():
            if self._wake_at is not None:
                at = min(at, self._wake_at)
            left = at - self.services.clock()
            if left <= 0:
                return
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=left)
            except TimeoutError:
                return

    async def _handle(self, delivery: Delivery) -> bool:
        """Whether the upstream said too many at once (the job is retried)."""
        try:
            return await self._perform(delivery)
        except RedisError as exc:
            # Redis went away mid-job: nothing can be recorded, not even a retry. The job
            # stays pending; unrenewed from here, it is reclaimed once Redis is back.
            log.warning("redis unavailable mid-job id=%s error=%s", delivery.message_id, exc)
            return False
        finally:
            self._held[delivery.queue].discard(delivery.message_id)

    async def _perform(self, delivery: Delivery) -> bool:
        """Whether the job was refused as one too many at once (Retry(throttled=True))."""
        outbox = self.services.outbox
        job = delivery.job
        if job is None:
            await outbox.bury(delivery, "unreadable job", self.services.clock())
            return False
        throttled = False
        try:
            await perform(self.services, job, reclaimed=delivery.reclaimed)
        except Held as exc:  # Slack's wiring is broken: it waits for the fix, using no attempt
            log.warning(
                "job held job=%s kind=%s scope=%s slack=%s", job.id, job.kind, exc.scope, exc.error
            )
            await self.services.holds.hold(
                exc.scope, exc.error, replace(job, turn=None), self.services.clock()
            )
        except Deferred as exc:  # its turn is far off: it waits off the slots, using no attempt
            held = job.holding(exc.turn_at)
            await outbox.retry_later(held, self.services.clock() + (exc.after or 0))
        except Retry as exc:
            throttled = exc.throttled
            if job.attempt + 1 >= MAX_ATTEMPTS[delivery.queue]:
                await self._give_up(delivery, job, str(exc))
                return throttled
            delay = backoff(job.attempt, exc.after)
            log.warning(
                "retry job=%s in %.1fs attempt=%d reason=%s", job.id, delay, job.attempt + 1, exc
            )
            await outbox.retry_later(job.retried(), self.services.clock() + delay)
        except Exception as exc:  # a bug must not stop the queue; keep the job
            log.exception("job failed job=%s kind=%s", job.id, job.kind)
            if job.attempt + 1 >= MAX_ATTEMPTS[delivery.queue]:
                await self._give_up(delivery, job, f"error: {exc!r}")
                return False
            await outbox.retry_later(
                job.retried(), self.services.clock() + backoff(job.attempt, None)
            )
        await outbox.ack(delivery)
        return throttled

    async def _give_up(self, delivery: Delivery, job: Job, reason: str) -> None:
        """Out of retries: the crew is told where they look (outbox/traces.py), the job is
        counted and buried; a lead card is queued again instead, as a card; a webhook delivery
        is kept as failed with the receiver's (bot/outbox/webhooks.py)."""
        services = self.services
        attempts = job.attempt + 1
        if isinstance(job.payload, WebhookDelivery):
            # Kept as failed for `/textback webhook retry` (and counted), as its own last
            # attempt keeps one a receiver failed: not buried as well, so it is in one place.
            await webhook_deliveries.given_up(services, job, job.payload)
            await services.outbox.ack(delivery)
            return
        await services.outbox.count_given_up(job.kind)
        await services.records.note_error(f"gave up on {job.kind} {job.id}: {reason}")
        again = await traces.leave_trace(services, job, attempts, reason)
        if again is not None:
            log.error(
                "lead card not posted after %d attempts; again as a card job=%s", attempts, job.id
            )
            await services.outbox.enqueue([again])
            await services.outbox.ack(delivery)
            return
        await services.outbox.bury(
            delivery, f"gave up after {attempts} attempts: {reason}", services.clock()
        )

    async def _recreate_groups(self) -> None:
        try:
            await self.services.outbox.ensure_groups()
        except RedisError:
            pass  # still down; the next round tries again

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            pass


async def _ended(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the tasks and wait for them to end, cancelling again while one hasn't: a cancel
    can be lost inside redis-py when it lands as a reply arrives (bot/app.py's _cancelled)."""
    while pending := [task for task in tasks if not task.done()]:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.5)
