"""A time zone set from Slack (`/textback hours set … America/Los_Angeles`) applies everywhere:
the hours, the day stats count by, the Monday digest and the App Home, not only the hours."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.flows import reports
from tests.conftest import CREW_USER, Harness, slash_command
from tests.lead_helpers import open_lead
from tests.waiting import wait_until

LA = ZoneInfo("America/Los_Angeles")  # the environment's zone is America/New_York
settings = pytest.mark.settings(ADMIN_USER_IDS=CREW_USER)


def set_time(harness: Harness, text: str) -> None:
    """Move the app's clock to a wall-clock time in Los Angeles (it keeps running from there)."""
    harness.clock.offset = datetime.fromisoformat(text).replace(tzinfo=LA).timestamp() - time.time()


async def to_los_angeles(harness: Harness) -> None:
    response = await slash_command(harness, "hours set Daily 00:00-24:00 America/Los_Angeles")
    assert (await response.text()).startswith("Saved. Hours: Daily 24h (America/Los_Angeles")


async def counted(harness: Harness, day: str, name: str) -> int:
    key = harness.services.keys.stats_day("default", day)
    return int(await harness.services.redis.hget(key, name) or 0)  # type: ignore[misc]


@settings
async def test_stats_count_by_the_day_of_a_zone_set_from_slack(harness: Harness) -> None:
    await to_los_angeles(harness)
    set_time(harness, "2026-11-16 22:30")  # Monday night in LA, already Tuesday in New York

    await open_lead(harness)
    await harness.caller_text("Can you come tomorrow?")
    await harness.drained()

    assert await counted(harness, "2026-11-16", "missed") == 1
    assert await counted(harness, "2026-11-16", "texted") == 1
    assert await counted(harness, "2026-11-16", "replied") == 1
    assert await counted(harness, "2026-11-17", "missed") == 0
    week = await reports.summary(harness.services, ["default"], 7)
    assert week.days[-1].day.isoformat() == "2026-11-16"  # "today" is LA's
    assert week.totals["missed"] == 1


@pytest.mark.settings(WEEKLY_DIGEST=True, ADMIN_USER_IDS=CREW_USER)
async def test_the_monday_digest_comes_on_monday_morning_in_a_zone_set_from_slack(
    harness: Harness,
) -> None:
    await to_los_angeles(harness)
    set_time(harness, "2026-11-20 10:00")  # Friday: a lead to count
    await open_lead(harness)

    # Monday 11:30 in LA is 14:30 in New York: past the digest's morning there, not here.
    set_time(harness, "2026-11-23 11:30")

    def digests() -> list[dict[str, object]]:
        return [p for p in harness.slack.posts if "last week" in str(p.get("text"))]

    [digest] = await wait_until(digests, timeout=15, message="no digest on LA's Monday morning")
    assert "1 missed calls" in str(digest["text"])
    assert await harness.services.redis.exists(harness.services.keys.digest("default", "2026-W48"))


@settings
async def test_the_app_home_lists_the_leads_of_the_lines_own_today(harness: Harness) -> None:
    await to_los_angeles(harness)
    set_time(harness, "2026-11-16 20:30")  # Monday in LA (23:30 in New York)
    await open_lead(harness)
    set_time(harness, "2026-11-16 21:30")  # still Monday in LA, Tuesday in New York

    view = await reports.home_view(harness.services)

    shown = str(view["blocks"])
    assert "(202) 555-0123" in shown or "+12025550123" in shown
    assert "No open leads today" not in shown
    assert "Hours: Daily 24h (America/Los_Angeles)" in shown
