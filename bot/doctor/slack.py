"""Slack: the token works, it carries every scope the manifest asks for, and the bot is in each
line's channel. The signing secret can't be checked from here: the doctor says so.

Slack names a token's scopes in the `x-oauth-scopes` header of every Web API answer, so
auth.test alone tells who we are and what we may do; conversations.info (channels:read,
groups:read) tells whether a channel exists and whether the bot is in it (`is_member`). A bot
that is not in the channel can still post there with chat:write.public, but Slack sends it no
message events from it: it never hears the crew's replies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.doctor.report import Finding, fail, info, ok
from bot.domain.line import DEFAULT_LINE, Line

# The bot scopes manifests/slack.yaml asks for (tests/test_declarations.py holds them equal).
MANIFEST_SCOPES = (
    "chat:write",
    "commands",
    "channels:read",
    "groups:read",
    "reactions:read",
    "reactions:write",
    "channels:history",
    "groups:history",
    "users:read",
    "files:read",
    "files:write",
)
SCOPES_HEADER = "x-oauth-scopes"
REVOKED = frozenset({"token_revoked", "account_inactive"})
REINSTALL = (
    "add them under Slack app > OAuth & Permissions > Scopes > Bot Token Scopes (or paste "
    "manifests/slack.yaml again under App Manifest), then reinstall the app to grant them "
    "(Install App > Reinstall to Workspace)"
)
SIGNING_SECRET = (
    "can't be checked from here (Slack only signs with it). A wrong one shows as 401s on "
    'POST /slack/events in serve\'s log and /textback failing with "dispatch_failed"; compare '
    "SLACK_SIGNING_SECRET with Slack app > Basic Information > Signing Secret"
)


# ---- pure: what an answer means ---------------------------------------------------------


def granted_scopes(headers: Mapping[str, str] | None) -> frozenset[str] | None:
    """The token's scopes from an answer's headers; None when a proxy dropped the header."""
    if headers is None:
        return None
    value = next((v for k, v in headers.items() if k.lower() == SCOPES_HEADER), None)
    if value is None:
        return None
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def identity_finding(auth: Mapping[str, Any]) -> Finding:
    """auth.test's answer: which bot in which workspace."""
    workspace = f'"{auth.get("team", "?")}"'
    if auth.get("url"):
        workspace += f" ({str(auth['url']).removeprefix('https://').rstrip('/')})"
    if not auth.get("bot_id"):
        return fail(
            "token",
            f"works in workspace {workspace}, but it is a user's token, not the bot's",
            "use the Bot User OAuth Token (xoxb-...) from Slack app > OAuth & Permissions "
            "as SLACK_BOT_TOKEN",
        )
    return ok("token", f"works: bot @{auth.get('user', '?')} in workspace {workspace}")


def auth_error_finding(error: str) -> Finding:
    if error in REVOKED:
        return fail(
            "token",
            f"Slack refuses it ({error}): the app was uninstalled or its token revoked",
            "reinstall the app (Slack app > Install App) and put the new Bot User OAuth Token "
            "in SLACK_BOT_TOKEN",
        )
    if error in ("invalid_auth", "not_authed"):
        return fail(
            "token",
            f"Slack refuses it ({error})",
            "copy the Bot User OAuth Token (xoxb-...) from Slack app > OAuth & Permissions "
            "into SLACK_BOT_TOKEN",
        )
    return fail(
        "token", f"auth.test answered {error}", "see https://api.slack.com/methods/auth.test"
    )


def scope_finding(granted: frozenset[str] | None) -> Finding:
    if granted is None:
        return fail(
            "scopes",
            f"not visible: Slack's answer carried no {SCOPES_HEADER} header",
            "if a proxy sits in front of SLACK_API_URL, let it pass Slack's response headers",
        )
    missing = [scope for scope in MANIFEST_SCOPES if scope not in granted]
    if missing:
        return fail("scopes", f"the token lacks {', '.join(missing)}", REINSTALL)
    return ok("scopes", f"all {len(MANIFEST_SCOPES)} the manifest asks for")


def where_set(line: Line) -> str:
    """Where a line's channel is configured, for a fix."""
    return "SLACK_CHANNEL_ID" if line.id == DEFAULT_LINE else f'line "{line.id}" in LINES_FILE'


def channel_finding(
    line: Line, channel: Mapping[str, Any] | None, error: str | None, bot: str, several: bool
) -> Finding:
    """conversations.info's answer (`channel`) or its error, for a line's channel."""
    owner = f" (line {line.id})" if several else ""
    if channel is None:
        subject = f"channel {line.channel_id}{owner}"
        if error == "channel_not_found":
            return fail(
                subject,
                "no such channel, or a private one the bot is not in",
                f"check the ID in {where_set(line)} (channel name > About > Channel ID); "
                f"for a private channel type /invite @{bot} in it",
            )
        if error == "missing_scope":
            return fail(
                subject,
                "can't look it up: the token lacks channels:read and groups:read",
                REINSTALL,
            )
        return fail(subject, f"conversations.info answered {error}", f"check {where_set(line)}")
    name = f"#{channel.get('name', line.channel_id)}"
    subject = f"{name}{owner}"
    if channel.get("is_archived"):
        return fail(
            subject,
            "the channel is archived",
            f"unarchive {name} (channel settings), or give the line another channel in "
            f"{where_set(line)}",
        )
    if not channel.get("is_member"):
        return fail(
            subject,
            "the bot is not in it: lead cards may post, but the crew's replies never reach it",
            f"type /invite @{bot} in {name}",
        )
    kind = "private channel" if channel.get("is_private") else "channel"
    return ok(subject, f"the bot is in this {kind}")


# ---- I/O ------------------------------------------------------------------------------------


async def check(
    client: AsyncWebClient,
    lines: Sequence[Line],
    found: list[Finding],
    *,
    api_url: str,
    signing_secret: bool = True,
) -> None:
    """auth.test (identity, scopes), then each line's channel at once."""
    try:
        auth = await client.auth_test()
    except SlackApiError as exc:
        found.append(auth_error_finding(str(exc.response.get("error", "unknown"))))
        return
    except (SlackClientError, aiohttp.ClientError, OSError) as exc:
        found.append(
            fail(
                "token",
                f"can't reach Slack at {api_url} ({type(exc).__name__})",
                "check this machine's network and proxy, and SLACK_API_URL",
            )
        )
        return
    found.append(identity_finding(auth.data if isinstance(auth.data, dict) else {}))
    found.append(scope_finding(granted_scopes(auth.headers)))
    bot = str(auth.get("user") or "textback")

    async def channel(line: Line) -> Finding:
        try:
            answer = await client.conversations_info(channel=line.channel_id)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown"))
            return channel_finding(line, None, error, bot, len(lines) > 1)
        return channel_finding(line, answer.get("channel") or {}, None, bot, len(lines) > 1)

    found.extend(await asyncio.gather(*(channel(line) for line in lines)))
    if signing_secret:
        found.append(info("signing secret", SIGNING_SECRET))
