"""The doctor's Slack and Twilio wiring lines for `/textback status`, so an owner sees a broken
setup from their phone.

Slack wants the command's answer within 3 s, so the checks get BUDGET seconds in all (beside
status's own Twilio health check, which runs meanwhile), and the report is kept in Redis (shared
by every process) and made again at most every REFRESH_SECONDS; one in which a service didn't
answer, after RETRY_SECONDS, so a slow service costs a status at most one wait that often.
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
BUDGET = 2.0  # seconds; status answers Slack within 3 s


async def report(services: Services, budget: float = BUDGET) -> tuple[list[Section], float]:
    """(the sections, when they were checked): the kept report when fresh, else a new one."""
    now = services.clock()
    try:
        kept = await services.records.wiring_report()
    except RedisError:
        kept = None  # status says Redis is down; the checks don't need it
    if kept is not None:
        sections = from_json(kept[1])
        fresh_for = RETRY_SECONDS if incomplete(sections) else REFRESH_SECONDS
        if 0 <= now - kept[0] < fresh_for:
            return sections, kept[0]
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


async def status_lines(services: Services) -> str:
    sections, at = await report(services)
    minutes = int((services.clock() - at) // 60)
    when = "just now" if minutes < 1 else f"{minutes} min ago"
    return (
        f"*Wiring* (checked {when}; `python -m bot doctor` on the server checks everything):\n"
        + render_slack(sections)
    )
