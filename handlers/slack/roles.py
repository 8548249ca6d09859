"""Who is asking: a workspace admin, a member, or a guest; known before they ask.

Slack's payloads say who clicked or typed, not what they may do: users.info does (is_admin,
is_owner, is_restricted and is_ultra_restricted for guests). Asking it while Slack waits for
our answer would put a Slack call before the ack, so the answers are kept in Redis and fetched
ahead: the web process lists the workspace's members (users.list) when it starts and every
SWEEP_EVERY, one process per round. Someone who joined since the last round is asked about
after the ack (users.info), and their answer follows through response_url.

ADMIN_USER_IDS are admins whatever Slack says.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.services import Services

log = logging.getLogger(__name__)

Role = Literal["admin", "member", "guest"]
SWEEP_EVERY = 600.0  # seconds between lists of the workspace's members (one process a round)
SWEEP_RETRY = 60.0  # after a list Slack did not answer
USERS_INFO_TIMEOUT = 5.0  # after the ack: nobody waits on it but the person who asked
PAGE = 200  # members per users.list page, as Slack recommends


def role_of(user: dict[str, Any]) -> Role:
    if user.get("is_restricted") or user.get("is_ultra_restricted"):
        return "guest"
    if any(user.get(flag) for flag in ("is_admin", "is_owner", "is_primary_owner")):
        return "admin"
    return "member"


async def known(services: Services, user_id: str) -> Role | None:
    """The role without asking Slack: ADMIN_USER_IDS, or what was fetched ahead. None: not
    known yet (ask_slack, after the ack)."""
    if user_id in services.settings.admin_user_ids:
        return "admin"
    role = await services.line_config.cached_role(user_id)
    return role if role in ("admin", "member", "guest") else None  # type: ignore[return-value]


async def ask_slack(services: Services, user_id: str) -> Role | None:
    """users.info, for someone not known yet; never before an ack. None when Slack could not
    be asked (nothing is kept, so the next command asks again)."""
    if user_id in services.settings.admin_user_ids:
        return "admin"
    try:
        response = await asyncio.wait_for(
            services.slack.users_info(user=user_id), USERS_INFO_TIMEOUT
        )
    except SlackApiError as exc:
        error = exc.response.get("error") if hasattr(exc.response, "get") else None
        if error != "user_not_found":
            log.warning("users.info failed user=%s error=%s", user_id, error)
            return None
        role: Role = "guest"  # nobody Slack knows: nothing to let them do
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("users.info unreachable user=%s error=%s", user_id, type(exc).__name__)
        return None
    else:
        role = role_of(response.get("user") or {})
    await services.line_config.remember_roles({user_id: role})
    return role


async def sweep(services: Services) -> int:
    """Every member's role, from users.list, kept for the commands to come. Returns how many."""
    roles: dict[str, Role] = {}
    cursor = None
    while True:
        response = await services.slack.users_list(limit=PAGE, cursor=cursor)
        for user in response.get("members") or []:
            if user.get("id") and not user.get("deleted") and not user.get("is_bot"):
                roles[str(user["id"])] = role_of(user)
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    await services.line_config.remember_roles(roles)
    return len(roles)


async def keep_fresh(services: Services) -> None:
    """The web process's loop: sweep now, then every SWEEP_EVERY (one process a round)."""
    config = services.line_config
    while True:
        pause = SWEEP_EVERY
        try:
            if await config.claim_sweep(SWEEP_EVERY):
                try:
                    count = await sweep(services)
                except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                    log.warning("slack members not listed (%s); again in a minute", exc)
                    await config.swept(f"failed: {type(exc).__name__}")
                    await config.forget_sweep()
                    pause = SWEEP_RETRY
                else:
                    log.info("slack members listed: %d roles known ahead", count)
                    await config.swept("ok")
        except Exception:  # Redis away, or a bug: the loop must outlive it
            log.exception("slack members not listed")
            pause = SWEEP_RETRY
        await asyncio.sleep(pause)  # a periodic refresh, not synchronisation
