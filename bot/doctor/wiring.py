"""The doctor's Slack and Twilio wiring lines for `/textback status`, so an owner sees a broken
setup from their phone.

The report is kept in Redis (shared by every process) and made again at most every
REFRESH_SECONDS (one in which a service didn't answer, after RETRY_SECONDS). Slack wants the
command's ack first and within 3 s, with no Slack call before it: status answers with the kept
report at once, and when it is stale checks again after the ack (BUDGET seconds) and sends the
new lines through the command's response_url.
"""

from __future__ import annotations

from functools import partial

from redis.exceptions import RedisError

from bot.doctor import slack, twilio
from bot.doctor.checks import Check, incomplete, run_checks
from bot.doctor.report import Section, from_json, render_slack, to_json
from bot.services import Services

REFRESH_SECONDS = 300
RETRY_SECONDS = 30
BUDGET = 8.0  # seconds for both checks, after the ack (a response_url takes 30 minutes)


async def kept(services: Services) -> tuple[list[Section], float, bool] | None:
    """The kept report: (sections, when checked, still fresh), or None when there is none."""
    try:
        found = await services.records.wiring_report()
    except RedisError:
        return None  # status says Redis is down; the checks don't need it
    if found is None:
        return None
    sections = from_json(found[1])
    fresh_for = RETRY_SECONDS if incomplete(sections) else REFRESH_SECONDS
    return sections, found[0], 0 <= services.clock() - found[0] < fresh_for


async def refresh(services: Services, budget: float = BUDGET) -> tuple[list[Section], float]:
    """Checks Slack and Twilio now and keeps the report for every process."""
    now = services.clock()
    settings = services.settings
    checks = [
        Check(
            "Slack",
            partial(
                slack.check,
                services.slack,
                services.lines.all,
                api_url=settings.slack_api_url,
                signing_secret=False,
            ),
            "the server's network, and SLACK_API_URL",
        ),
        Check(
            "Twilio",
            partial(
                twilio.check,
                services.twilio,
                settings.twilio_account_sid,
                services.lines.all,
                twilio.Wanted.under(settings.public_url),
            ),
            "the server's network, and TWILIO_API_URL",
        ),
    ]
    sections = await run_checks(checks, budget)
    try:
        await services.records.save_wiring_report(to_json(sections), now)
    except RedisError:
        pass  # not kept: the next status checks again
    return sections, now


def render(services: Services, sections: list[Section], at: float, refreshing: bool) -> str:
    minutes = int((services.clock() - at) // 60)
    when = "just now" if minutes < 1 else f"{minutes} min ago"
    again = "; checking again now, the result follows" if refreshing else ""
    return (
        f"*Wiring* (checked {when}{again}; `python -m bot doctor` on the server checks "
        "everything):\n" + render_slack(sections)
    )


CHECKING = (
    "*Wiring*: checking Slack and Twilio now; the result follows in a moment "
    "(`python -m bot doctor` on the server checks everything)."
)
