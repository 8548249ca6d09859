"""Is the wiring to Slack and Twilio working? One small check each, for whoever needs to know.

The outbox's holds ask every minute while Slack refuses our posts (outbox/holds.py),
/healthz?deep=1 and /textback status ask when someone looks; a setup check can ask the same.
Each answers None (or "ok") when working, else the error in Slack's or plain words, and never
raises for what the service answered: only for bugs.
"""

from __future__ import annotations

import asyncio

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client as TwilioClient

CHECK_TIMEOUT = 2.0  # seconds; status and health answers must stay quick


def _error(exc: SlackApiError) -> str:
    response = exc.response
    error = response.get("error") if hasattr(response, "get") else None
    return str(error or f"http {response.status_code}")


async def slack_token(slack: AsyncWebClient, within: float = CHECK_TIMEOUT) -> str | None:
    """auth.test: None when the token works, else Slack's error (token_revoked, ...)."""
    try:
        await asyncio.wait_for(slack.auth_test(), within)
    except SlackApiError as exc:
        return _error(exc)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return f"unreachable ({type(exc).__name__})"
    return None


async def slack_channel(
    slack: AsyncWebClient, channel: str, within: float = CHECK_TIMEOUT
) -> str | None:
    """conversations.info (channels:read / groups:read): None when the bot can post there,
    else why not: not_in_channel, is_archived, channel_not_found, or what Slack answered
    (missing_scope when the app was installed before it asked for those scopes)."""
    try:
        response = await asyncio.wait_for(slack.conversations_info(channel=channel), within)
    except SlackApiError as exc:
        return _error(exc)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return f"unreachable ({type(exc).__name__})"
    info = response.get("channel") or {}
    if info.get("is_archived"):
        return "is_archived"
    if not info.get("is_member"):
        return "not_in_channel"
    return None


async def twilio_account(
    twilio: TwilioClient, account_sid: str, within: float = CHECK_TIMEOUT
) -> str:
    """A cheap authenticated GET of our own account: "ok", or what is wrong in plain words."""
    try:
        account = await asyncio.wait_for(
            twilio.api.v2010.accounts(account_sid).fetch_async(), within
        )
    except TwilioRestException as exc:
        if exc.status == 401:
            return "credentials refused (check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)"
        return f"error {exc.status} (code {exc.code})"
    except TimeoutError:
        return f"no answer within {within:g} s"
    except aiohttp.ClientError as exc:
        return f"unreachable ({type(exc).__name__})"
    return "ok" if account.status == "active" else f"account {account.status}"
