"""A few core tests run again on a 3-master Redis Cluster, so every run proves cluster support.

The tests are the suite's own, imported here: this module's `redis_url` points their `redis` and
`harness` fixtures at the cluster (started once per session, tests/local_cluster.py). The whole
suite runs on a cluster with `pytest --redis-cluster`.
"""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from storage import connection as redis_client
from tests.conftest import Harness
from tests.test_caller_texts import (
    test_stop_after_a_text_back_blocks_the_next_one,
    test_text_from_a_caller_with_a_lead_lands_quoted_in_that_lead_thread,
)
from tests.test_calls import (
    second,
    test_two_instances_receiving_the_same_call_send_one_text,
)
from tests.test_crew_replies import (
    test_crew_reply_is_texted_to_caller_as_plain_text_and_gets_a_check_mark,
)
from tests.test_lead_cards import test_clicks_at_once_converge_on_the_stored_state
from tests.test_missed_call import (
    test_duplicate_callbacks_for_one_call_send_one_text,
    test_missed_call_texts_caller_from_business_number_and_posts_lead_card,
)
from tests.test_outbox import test_a_job_taken_by_a_worker_that_died_is_done_by_another
from tests.test_worker_slots import (
    test_a_burst_on_a_few_redis_connections_waits_for_them_and_sends_every_text_once,
)

__all__ = [
    "second",
    "test_a_burst_on_a_few_redis_connections_waits_for_them_and_sends_every_text_once",
    "test_a_job_taken_by_a_worker_that_died_is_done_by_another",
    "test_clicks_at_once_converge_on_the_stored_state",
    "test_crew_reply_is_texted_to_caller_as_plain_text_and_gets_a_check_mark",
    "test_duplicate_callbacks_for_one_call_send_one_text",
    "test_missed_call_texts_caller_from_business_number_and_posts_lead_card",
    "test_stop_after_a_text_back_blocks_the_next_one",
    "test_text_from_a_caller_with_a_lead_lands_quoted_in_that_lead_thread",
    "test_two_instances_receiving_the_same_call_send_one_text",
]


@pytest.fixture(scope="session")
def redis_url(redis_cluster_url: str) -> str:
    return redis_cluster_url


async def test_these_tests_run_on_a_three_master_cluster(harness: Harness, redis: Redis) -> None:
    assert isinstance(harness.services.redis, RedisCluster)
    assert isinstance(redis, RedisCluster)
    assert await redis.ping()  # the client learns the cluster's layout on first use
    assert len(redis.get_primaries()) == 3


async def test_a_burst_of_first_commands_on_a_new_client_all_succeed(
    redis_cluster_url: str, redis: Redis, key_prefix: str
) -> None:
    """A process starting under load: redis-py's lazy cluster setup failed such bursts."""
    for round_ in range(5):
        fresh = redis_client.connect(redis_cluster_url)
        try:
            keys = [f"{key_prefix}:{{{round_}-{i}}}:n" for i in range(40)]
            assert await asyncio.gather(*(fresh.incr(key) for key in keys)) == [1] * 40
        finally:
            await fresh.aclose()
