"""What a webhook costs in Redis round trips, counted by a proxy in front of Redis
(tests/redis_counter.py): a missed call at most 3, a caller's reply of every kind at most 4, a
Twilio retry of a reply's MessageSid exactly 1 (the claim finds it done).

Each kind runs once on another caller first, so Lua scripts are loaded and the pool's
connections open before anything is counted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.conftest import Harness, new_sid, on_cluster
from tests.redis_counter import CountingProxy
from tests.round_trips import counted_app

WARM_UP_CALLER = "+12125550142"
CALLER = "+12025550177"


@pytest.fixture(autouse=True)
def single_server(request: pytest.FixtureRequest) -> None:
    if on_cluster(request.config):
        pytest.skip("the proxy speaks to one server; a cluster redirects between nodes")


async def counted(
    counted_trips: CountingProxy, harness: Harness, send: Callable[[], Awaitable[Any]]
) -> int:
    """Round trips of one webhook, its jobs then performed by the harness's worker."""
    counted_trips.reset()
    response = await send()
    assert response.status == 200
    trips = counted_trips.round_trips
    detail = list(counted_trips.trips)
    await harness.drained()
    print(f"{trips} round trips: {detail}")
    return trips


async def each_kind(h: Harness, caller: str) -> dict[str, Callable[[], Awaitable[Any]]]:
    """The webhooks, in the order a caller's story sends them."""
    sid = new_sid("SM")
    return {
        "missed call": lambda: h.missed_call(caller=caller),
        "first reply": lambda: h.caller_text("Can you come Tuesday?", caller=caller),
        "later reply": lambda: h.caller_text("Tuesday 9am works", caller=caller, message_sid=sid),
        "retry of the same MessageSid": lambda: h.caller_text(
            "Tuesday 9am works", caller=caller, message_sid=sid
        ),
        "urgent reply": lambda: h.caller_text("water is leaking on the panel!", caller=caller),
        "HELP": lambda: h.caller_text("HELP", caller=caller),
        "STOP": lambda: h.caller_text("STOP", caller=caller),
        "START": lambda: h.caller_text("START", caller=caller),
        "reply after START": lambda: h.caller_text("sorry, still need you", caller=caller),
    }


async def test_a_reply_costs_at_most_four_round_trips_and_a_retry_one(harness: Harness) -> None:
    async with counted_app(harness) as (h, trips):
        for send in (await each_kind(h, WARM_UP_CALLER)).values():
            await counted(trips, harness, send)
        cost = {
            name: await counted(trips, harness, send)
            for name, send in (await each_kind(h, CALLER)).items()
        }
    print(cost)
    assert cost.pop("missed call") <= 3, cost
    assert cost.pop("retry of the same MessageSid") == 1, cost
    assert all(trips <= 4 for trips in cost.values()), cost
