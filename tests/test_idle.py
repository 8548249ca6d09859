"""An idle process costs Redis at most two commands a second, and still does its work: a retry
another process scheduled is promoted, a job queued after a quiet spell is performed.

The app (what `serve` runs: the web app, its roles loop and an outbox worker) talks to Redis
through a counting proxy (tests/redis_counter.py), so only its own commands are counted on the
shared Redis. `python -m tests.idle_traffic` prints the same figures for `serve` and `worker`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.domain.jobs import Job, Notice, SendSms, SlackThread
from bot.settings import Settings
from storage.keys import Keys
from storage.outbox import Outbox
from tests.conftest import (
    BUSINESS_NUMBER,
    CHANNEL,
    Clock,
    Harness,
    on_cluster,
    start_harness,
)
from tests.redis_counter import CountingProxy
from tests.standins import SlackStandIn, TwilioStandIn
from tests.waiting import wait_until

ROUNDS = 11  # maintenance rounds counted: a read block (10 s) and more, at one a second
CALLER = "+12025550161"
OTHER_CALLER = "+12125550162"


@pytest.fixture
async def counted(
    clean_env: None,
    redis: Redis,
    redis_url: str,
    key_prefix: str,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    clock: Clock,
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[Harness, CountingProxy]]:
    """The app with default timings, its Redis reached through a counting proxy."""
    if on_cluster(request.config):
        pytest.skip("the counting proxy stands in front of one server, not a cluster")
    async with CountingProxy(redis_url) as proxy:
        idle = Settings.model_fields["worker_idle_seconds"].default  # not the tests' shorter
        harness = await start_harness(
            proxy.url, key_prefix, slack, twilio, clock, worker_idle_seconds=idle
        )
        try:
            yield harness, proxy
        finally:
            await harness.client.close()


def text_job(job_id: str, to: str) -> Job:
    sms = SendSms(
        to=to,
        from_=BUSINESS_NUMBER,
        body="We'll call you back shortly.",
        purpose="test",
        line="default",
        report_to=SlackThread(CHANNEL),
    )
    return Job(job_id, sms)


def another_process(redis: Redis, key_prefix: str) -> Outbox:
    """The outbox as a process apart sees it: its own client, no worker of ours listening."""
    return Outbox(redis, Keys(key_prefix))


async def test_an_idle_app_and_its_worker_send_at_most_two_redis_commands_a_second(
    counted: tuple[Harness, CountingProxy], redis: Redis, key_prefix: str
) -> None:
    harness, proxy = counted
    # Started: the worker's first rounds are behind it (groups made, scripts loaded).
    await wait_until(lambda: proxy.commands["EVALSHA"] >= 2, timeout=10)
    proxy.reset()
    await wait_until(lambda: proxy.commands["EVALSHA"] >= ROUNDS, timeout=5 * ROUNDS)
    assert proxy.total_per_second() <= 2.0, proxy.per_second()

    # After the quiet spell a job queued by another process is performed.
    await another_process(redis, key_prefix).enqueue([text_job("idle-then-a-job", CALLER)])
    await wait_until(lambda: harness.twilio.messages_to(CALLER), message="job never performed")


async def test_a_retry_another_process_scheduled_is_still_promoted(
    counted: tuple[Harness, CountingProxy], redis: Redis, key_prefix: str
) -> None:
    harness, proxy = counted
    await wait_until(lambda: proxy.commands["EVALSHA"] >= 1, timeout=10)  # the worker is idle
    later = harness.clock() + 1.5
    await another_process(redis, key_prefix).retry_later(text_job("retry", OTHER_CALLER), later)
    await wait_until(
        lambda: harness.twilio.messages_to(OTHER_CALLER), message="retry never promoted"
    )


async def test_a_round_promotes_every_queues_due_jobs_and_says_when_the_next_is_due(
    redis: Redis, key_prefix: str
) -> None:
    outbox = Outbox(redis, Keys(key_prefix))
    await outbox.ensure_groups()
    now = 1_800_000_000.25
    due_text = text_job("due-text", CALLER)
    later_text = text_job("later-text", OTHER_CALLER)
    await outbox.retry_later(due_text, now - 1)
    await outbox.retry_later(later_text, now + 7.5)
    await outbox.retry_later(Job("due-notice", Notice(CHANNEL, "Back in a minute")), now)
    await outbox.retry_later(Job("later-notice", Notice(CHANNEL, "Later")), now + 3.125)

    found = await outbox.maintain(now, pending=True)

    assert found.promoted == 2
    assert found.next_due == now + 3.125  # the soonest of any queue, to the millisecond
    assert found.broken == 0
    assert found.pending == {"sms": 0, "slack": 0, "webhooks": 0}  # promoted, not read yet
    [read] = await outbox.read("sms", "a-worker", count=10, block_ms=10)
    assert read.job == due_text
    assert (await outbox.maintain(now, pending=True)).pending["sms"] == 1
    assert (await outbox.maintain(now)).pending["sms"] == 0  # not asked: not counted
