"""Fixtures of the fault suite: the stand-ins, a Redis prefix per case, the soak switch."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from storage import connection as redis_client
from tests.faults import report


@pytest.fixture
def soak(request: pytest.FixtureRequest) -> bool:
    """`pytest --soak tests/faults`: the long form (hundreds of events, minute-long outages)."""
    return bool(request.config.getoption("--soak"))


@pytest.fixture
def prefix() -> str:
    return f"tbfault-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def fault_redis(redis_url: str, prefix: str) -> AsyncIterator[Redis]:
    client = redis_client.connect(redis_url)
    yield client
    # On a cluster, scan_iter walks every master and delete() splits the keys by slot.
    keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
    for start in range(0, len(keys), 1000):
        await client.delete(*keys[start : start + 1000])
    await client.aclose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not report.TABLES:
        return
    terminalreporter.section("fault suite figures")
    for text in report.TABLES:
        terminalreporter.write_line(text)
        terminalreporter.write_line("")
