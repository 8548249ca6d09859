"""Who may change settings from /textback: ADMIN_USER_IDS, or Slack workspace admins and owners.

users.info is asked once per user and the answer kept in Redis for a few minutes, so a command
still answers well inside Slack's 3 s when Slack is slow. Everyone may read.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.services import Services

log = logging.getLogger(__name__)

USERS_INFO_TIMEOUT = 2.0  # seconds; the command must still answer within Slack's 3 s


async def is_admin(services: Services, user_id: str) -> bool | None:
    """None when Slack could not be asked (so the answer is not cached)."""
    if user_id in services.settings.admin_user_ids:
        return True
    config = services.line_config
    cached = await config.cached_admin(user_id)
    if cached is not None:
        return cached
    try:
        response = await asyncio.wait_for(
            services.slack.users_info(user=user_id), USERS_INFO_TIMEOUT
        )
    except SlackApiError as exc:
        error = exc.response.get("error") if hasattr(exc.response, "get") else None
        if error != "user_not_found":
            log.warning("users.info failed user=%s error=%s", user_id, error)
            return None
        admin = False
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("users.info unreachable user=%s error=%s", user_id, type(exc).__name__)
        return None
    else:
        user = response.get("user") or {}
        admin = any(user.get(flag) for flag in ("is_admin", "is_owner", "is_primary_owner"))
    await config.remember_admin(user_id, admin)
    return admin


async def refusal(services: Services, user_id: str) -> str | None:
    """None when `user_id` may change settings, else the answer that says who can."""
    admin = await is_admin(services, user_id)
    if admin:
        return None
    if admin is None:
        return "I couldn't check with Slack whether you are an admin. Please try again."
    named = ", ".join(f"<@{uid}>" for uid in services.settings.admin_user_ids)
    who = (
        f"{named} (ADMIN_USER_IDS) or Slack workspace admins and owners"
        if named
        else ("Slack workspace admins and owners, or people listed in the ADMIN_USER_IDS setting")
    )
    return f"Only admins can change this: {who}. Everyone can look (`show`, `status`)."
