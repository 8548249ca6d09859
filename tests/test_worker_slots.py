"""A worker's jobs in flight: many at once by default, fewer when Twilio says too many (20429)."""

from __future__ import annotations

import asyncio

import pytest

from bot.domain.jobs import Job, SendSms, SlackThread
from bot.outbox.limits import Slots
from bot.outbox.worker import Worker
from tests.conftest import BUSINESS_NUMBER, CHANNEL, Harness
from tests.waiting import wait_until

CALLERS = [f"+120255501{n:02d}" for n in range(100)]


def burst(texts_per_caller: int) -> list[Job]:
    jobs = []
    for round_ in range(texts_per_caller):
        for caller in CALLERS:
            body = f"text {round_} to {caller}"
            sms = SendSms(
                to=caller,
                from_=BUSINESS_NUMBER,
                body=body,
                purpose="test",
                line="default",
                report_to=SlackThread(CHANNEL),
            )
            jobs.append(Job(f"test:burst:{round_}:{caller}", sms))
    return jobs


def test_the_limit_halves_once_per_round_of_refusals_and_grows_back() -> None:
    slots = Slots(100)
    round_one = [slots.take() for _ in range(40)]
    for ticket in round_one:  # the whole round refused: one cut, not forty
        slots.release(ticket, throttled=True)
    assert (slots.limit, slots.cuts) == (50.0, 1)

    refused_later = slots.take()
    slots.release(refused_later, throttled=True)
    assert (slots.limit, slots.cuts) == (25.0, 2)

    for _ in range(5000):  # about one more per limit's worth of jobs
        slots.release(slots.take(), throttled=False)
    assert slots.limit == 100.0  # back up to the setting, never past it


async def test_a_worker_reads_no_more_jobs_than_it_has_free_slots() -> None:
    slots = Slots(3)
    tickets = [slots.take() for _ in range(3)]
    waiting = asyncio.create_task(slots.wait_free())
    await asyncio.sleep(0)  # let it wait: it must not return while every slot is busy
    assert not waiting.done()
    slots.release(tickets[0], throttled=False)
    assert await asyncio.wait_for(waiting, timeout=1) == 1


@pytest.mark.settings(run_worker=False)
async def test_a_burst_past_twilios_concurrency_cap_sends_every_text_once(
    harness: Harness,
) -> None:
    twilio = harness.twilio
    twilio.max_concurrent = 20
    twilio.latency = 0.05  # requests overlap, as against the real API
    jobs = burst(texts_per_caller=3)
    outbox = harness.services.outbox
    await outbox.ensure_groups()
    await outbox.enqueue(jobs)

    worker = Worker(harness.services)  # the default concurrency, well past the cap
    assert worker.concurrency == 100
    task = asyncio.create_task(worker.run())
    try:
        await wait_until(
            lambda: len(twilio.messages) >= len(jobs), timeout=60, message="burst not sent"
        )
        await harness.drained(timeout=30)
    finally:
        await worker.shutdown(task)

    sent = sorted(m["Body"] for m in twilio.messages)
    assert sent == sorted(job.payload.body for job in jobs if isinstance(job.payload, SendSms))
    assert twilio.refused_concurrent > 0  # the cap was hit...
    assert worker.slots["sms"].cuts > 0  # ...and the worker ran fewer at once for it


@pytest.mark.settings(run_worker=False, REDIS_MAX_CONNECTIONS=4)
async def test_a_burst_on_a_few_redis_connections_waits_for_them_and_sends_every_text_once(
    harness: Harness,
) -> None:
    """100 jobs at once share 4 connections: on one server, or on each node of a cluster
    (tests/test_cluster_smoke.py runs this there), a job waits for one, nothing is lost."""
    twilio = harness.twilio
    twilio.latency = 0.05
    jobs = burst(texts_per_caller=1)
    outbox = harness.services.outbox
    await outbox.ensure_groups()
    await outbox.enqueue(jobs)

    worker = Worker(harness.services)
    task = asyncio.create_task(worker.run())
    try:
        await wait_until(
            lambda: len(twilio.messages) >= len(jobs), timeout=30, message="burst not sent"
        )
        await harness.drained(timeout=30)
    finally:
        await worker.shutdown(task)

    assert sorted(m["Body"] for m in twilio.messages) == sorted(
        job.payload.body for job in jobs if isinstance(job.payload, SendSms)
    )
    assert not harness.slack.posts  # no text reported as failed or uncertain
