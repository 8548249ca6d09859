"""One call to Slack's Web API from a job: what a retry can fix becomes Retry, the business's
wiring (a revoked token, the bot out of the channel) Held, the rest Permanent; a 429 holds every
worker's posts to that schedule for its Retry-After."""

from __future__ import annotations

from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.domain import slack_text, slack_wiring
from bot.outbox.errors import Held, Retry
from bot.services import Services

_RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class Permanent(Exception):
    """Slack said no in a way a retry won't change (channel_not_found, not_in_channel, ...)."""


async def call(services: Services, pace: str | None, method: str, **kwargs: Any) -> Any:
    """pace: the schedule the job took its turn in (outbox/pacing.py), held after a 429."""
    channel = kwargs.get("channel") if isinstance(kwargs.get("channel"), str) else None
    known = services.holds.known(channel)
    if known is not None and await services.holds.still(known[0]):
        # Slack refuses the token or this channel already: don't spend a call to hear it again.
        raise Held(*known)
    if pace is not None:
        held = services.pacing.held(pace, services.clock())
        if held > 0:
            # A 429 came while we waited for our slot: posting now would only draw another.
            raise Retry("slack channel held after a 429", after=held)
    if isinstance(kwargs.get("text"), str):
        kwargs["text"] = slack_text.fit(kwargs["text"], slack_text.MAX_MESSAGE_TEXT)
    try:
        return await getattr(services.slack, method)(**kwargs)
    except SlackApiError as exc:
        status = exc.response.status_code
        if status == 429 or status >= 500:
            retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get(
                "retry-after"
            )
            if status == 429 and pace is not None and retry_after:
                # Hold every worker's posts to this channel, not just this one job's retry.
                seconds = float(retry_after)
                await services.pacing.hold(pace, services.clock() + seconds, seconds)
            raise Retry(
                f"slack {status}", after=float(retry_after) if retry_after else None
            ) from exc
        error = exc.response.get("error") if hasattr(exc.response, "get") else None
        if error in _RETRYABLE_ERRORS:
            raise Retry(f"slack {error}") from exc
        scope = slack_wiring.scope_of(str(error), channel)
        if scope is not None:
            raise Held(scope, str(error)) from exc
        services.metrics.send_failures.labels("slack", "permanent").inc()
        raise Permanent(str(error or status)) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise Retry(f"slack unreachable: {type(exc).__name__}") from exc
