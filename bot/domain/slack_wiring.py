"""Slack errors that are the business's wiring, not the job's: what they hold, in plain words.

A revoked token or a channel the bot was removed from fails every post alike, and no retry
will fix it; nor is it permanent for the business, who will put it right. Jobs meeting one
wait (outbox/holds.py) until a check finds the wiring working, instead of failing. A token
error holds every job; a channel error the jobs for that channel.
"""

from __future__ import annotations

TOKEN = "token"
CHANNEL_PREFIX = "channel:"

TOKEN_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "account_inactive"})
CHANNEL_ERRORS = frozenset({"not_in_channel", "channel_not_found", "is_archived"})

_WORDS = {
    "invalid_auth": "its token is not valid",
    "not_authed": "no token was sent",
    "token_revoked": "token revoked",
    "account_inactive": "the app's Slack account is deactivated",
    "not_in_channel": "the bot is not in the channel",
    "channel_not_found": "the channel is gone or the bot can't see it",
    "is_archived": "the channel is archived",
}


def scope_of(error: str, channel: str | None) -> str | None:
    """The hold an error puts on: TOKEN, "channel:<id>", or None (not a wiring error)."""
    if error in TOKEN_ERRORS:
        return TOKEN
    if error in CHANNEL_ERRORS and channel:
        return CHANNEL_PREFIX + channel
    return None


def channel_of(scope: str) -> str | None:
    return scope.removeprefix(CHANNEL_PREFIX) if scope.startswith(CHANNEL_PREFIX) else None


def in_words(error: str) -> str:
    """ "token revoked", "the bot is not in the channel"."""
    return _WORDS.get(error, error.replace("_", " "))


def alert_text(error: str, where: str | None, waiting: int) -> str:
    """The owner's SMS: "textback: Slack is refusing posts (token revoked). 3 caller texts
    waiting." `where`: the line whose channel it is, for a channel's error."""
    reason = in_words(error) + (f", {where}" if where else "")
    text = f"textback: Slack is refusing posts ({reason})."
    if waiting:
        text += f" {waiting} caller text{'' if waiting == 1 else 's'} waiting."
    return text


def recovery_text(delivered: int) -> str:
    text = "textback: Slack is taking posts again."
    if delivered:
        text += f" {delivered} held caller text{'' if delivered == 1 else 's'} going in now."
    return text
