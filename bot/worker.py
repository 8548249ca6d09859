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

from redis.exceptions import RedisError

from bot import lead_flows, reports
from bot.jobs import QUEUES, Queue
from bot.perform import Retry, perform
from bot.services import Services
from storage.outbox import Delivery

log = logging.getLogger(__name__)

MAX_ATTEMPTS: dict[Queue, int] = {"sms": 12, "slack": 60}  # slack: hours of outage, then give up
MAX_BACKOFF = 300.0
RECLAIM_IDLE_MS = 30_000  # a job unacknowledged this long belonged to a worker that died


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
        reclaim_idle_ms: int = RECLAIM_IDLE_MS,
    ) -> None:
        self.services = services
        self.queues = queues
        self.reclaim_idle_ms = reclaim_idle_ms
        self.concurrency = concurrency or services.settings.worker_concurrency
        self.name = f"{socket.gethostname()}-{os.getpid()}-{random.randrange(1 << 16):04x}"
        self._stopping = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.services.outbox.ensure_groups()
                break
            except RedisError as exc:
                log.warning("redis not ready (%s); worker retrying", type(exc).__name__)
                await self._pause(1.0)
        log.info("worker started name=%s concurrency=%d", self.name, self.concurrency)
        loops = [self._consume(queue) for queue in self.queues] + [self._maintain()]
        await asyncio.gather(*loops)

    async def stop(self, grace: float = 8.0) -> None:
        """Finish what is in flight; whatever isn't acknowledged stays queued for another worker."""
        self._stopping.set()
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=grace)

    async def shutdown(self, task: asyncio.Task[None], grace: float = 8.0) -> None:
        """Stop, and let the loops end by themselves (a read blocks WORKER_READ_BLOCK_MS):
        cancelling a Redis command midway would leave its connection half open."""
        await self.stop(grace)
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=2.0)
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _consume(self, queue: Queue) -> None:
        outbox = self.services.outbox
        slots = asyncio.Semaphore(self.concurrency)
        while not self._stopping.is_set():
            try:
                deliveries = await outbox.read(
                    queue,
                    self.name,
                    count=self.concurrency,
                    block_ms=self.services.settings.worker_read_block_ms,
                )
            except Exception as exc:  # Redis restarting: back off, don't die
                log.error("outbox read failed queue=%s error=%s", queue, exc)
                if "NOGROUP" in str(exc):
                    await self._recreate_groups()  # Redis lost its data (restart without AOF)
                await self._pause(1.0)
                continue
            for delivery in deliveries:
                await slots.acquire()
                task = asyncio.create_task(self._handle(delivery))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
                task.add_done_callback(lambda _: slots.release())

    async def _maintain(self) -> None:
        """Move due retries back onto the streams and take over jobs of dead workers."""
        outbox = self.services.outbox
        while not self._stopping.is_set():
            try:
                for queue in self.queues:
                    await outbox.promote_due(queue, self.services.clock())
                    for delivery in await outbox.reclaim(queue, self.name, self.reclaim_idle_ms):
                        log.warning("reclaimed job queue=%s id=%s", queue, delivery.message_id)
                        task = asyncio.create_task(self._handle(delivery))
                        self._in_flight.add(task)
                        task.add_done_callback(self._in_flight.discard)
                await lead_flows.fire_due_reminders(self.services)
                await reports.maybe_post_digest(self.services)
                depth = await outbox.depth()
                for name, count in depth.items():
                    self.services.metrics.outbox_depth.labels(name).set(count)
            except Exception:  # Redis restarting: try again next round
                log.exception("outbox maintenance failed")
            await self._pause(0.2)

    async def _handle(self, delivery: Delivery) -> None:
        outbox = self.services.outbox
        job = delivery.job
        if job is None:
            await outbox.bury(delivery, "unreadable job")
            return
        try:
            await perform(self.services, job)
        except Retry as exc:
            if job.attempt + 1 >= MAX_ATTEMPTS[delivery.queue]:
                await self.services.store.note_error(f"gave up on {job.kind} {job.id}: {exc}")
                await outbox.bury(delivery, f"gave up after {job.attempt + 1} attempts: {exc}")
                return
            delay = backoff(job.attempt, exc.after)
            log.warning(
                "retry job=%s in %.1fs attempt=%d reason=%s", job.id, delay, job.attempt + 1, exc
            )
            await outbox.retry_later(job.retried(), self.services.clock() + delay)
        except Exception as exc:  # a bug must not stop the queue; keep the job
            log.exception("job failed job=%s kind=%s", job.id, job.kind)
            if job.attempt + 1 >= MAX_ATTEMPTS[delivery.queue]:
                await outbox.bury(delivery, f"error: {exc!r}")
                return
            await outbox.retry_later(
                job.retried(), self.services.clock() + backoff(job.attempt, None)
            )
        await outbox.ack(delivery)

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
