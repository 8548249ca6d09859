"""Text for and from Slack: caller text is untrusted, crew text arrives in Slack's markup."""

from __future__ import annotations

import re

MAX_SHOWN = 3_000  # a caller's text past this is cut in Slack (Twilio caps bodies at 1,600)


def escape(text: str) -> str:
    """Caller text as inert mrkdwn: no <!channel>, <@U…> pings or <https://evil|bank> links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quote(text: str) -> str:
    """Escaped, length-capped and shown as a block quote so it reads as the caller's words."""
    shown = text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + " … (cut)"
    return "\n".join(f">{line}" for line in escape(shown).splitlines() or [""])


_LINK = re.compile(r"<(https?://[^|>]+|mailto:[^|>]+|tel:[^|>]+)(?:\|([^>]*))?>")
# With the spaces before it, so a removed mention leaves no double space ("Thanks <@U1> see").
_MENTION = re.compile(r"([ \t]*)<[@#!]([^|>]+)(?:\|([^>]*))?>")


def to_plain(text: str) -> str:
    """A crew member's Slack message as the plain text the caller should read."""

    def link(match: re.Match[str]) -> str:
        url, label = match.group(1), match.group(2)
        url = url.removeprefix("mailto:").removeprefix("tel:")
        return url if not label or label == url else f"{label} ({url})"

    def mention(match: re.Match[str]) -> str:
        label = match.group(3)
        return match.group(1) + label if label else ""

    text = _MENTION.sub(mention, _LINK.sub(link, text))
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()
