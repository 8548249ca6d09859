"""Text for and from Slack: caller text is untrusted, crew text arrives in Slack's markup."""

from __future__ import annotations

import re
import unicodedata

import emoji

MAX_SHOWN = 3_000  # a caller's text past this is cut in Slack (Twilio caps bodies at 1,600)
MAX_NAME = 60  # a caller name or one-line form field (caller-name lookup gives at most 15)
# Slack's own limits: a longer message text is refused or cut by Slack, a longer section block
# makes the whole post invalid_blocks. Past them we cut, visibly, rather than lose the post.
MAX_MESSAGE_TEXT = 40_000
MAX_SECTION_TEXT = 3_000
TRUNCATED = " …(truncated)"


def escape(text: str) -> str:
    """Caller text as inert mrkdwn: no <!channel>, <@U…> pings or <https://evil|bank> links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, marked as cut when it was."""
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATED)] + TRUNCATED


def quote(text: str) -> str:
    """Escaped, length-capped and shown as a block quote so it reads as the caller's words."""
    shown = text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + TRUNCATED
    return "\n".join(f">{line}" for line in escape(shown).splitlines() or [""])


def inline(text: str, limit: int = MAX_NAME) -> str:
    """Caller text for inside one of our lines (a caller name, a form field): escaped, on one
    line (no newline can forge a line of ours), without invisible format characters (a
    right-to-left override reverses what follows), and capped."""
    words = "".join(
        " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c
        for c in text
        if unicodedata.category(c) != "Cf"
    ).split()
    return escape(fit(" ".join(words), limit))


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


INTERNAL_NOTE = "//"
# Whom a message addresses: a person (<@U…>), a user group, or the channel (@here, @channel).
_ADDRESSED = re.compile(
    r"<@(?P<user>[UW][A-Z0-9]+)(?:\|[^>]*)?>"
    r"|<!subteam\^[^>]+>"
    r"|<!(?:here|channel|everyone)(?:\|[^>]*)?>"
)


def stays_inside(text: str, bot_user_id: str | None) -> bool:
    """A crew message meant for the crew, not the caller: a `//` note, or one that mentions a
    teammate (anyone but the bot), a user group or the channel. `text` in Slack's markup."""
    if text.strip().startswith(INTERNAL_NOTE):
        return True
    return any(
        match["user"] is None or match["user"] != bot_user_id for match in _ADDRESSED.finditer(text)
    )


# Slack sends a skin tone as its own code after the emoji's: `:+1::skin-tone-2:`.
_TONED = re.compile(r":([a-z0-9_+'-]+)::skin-tone-([2-6]):")
_VARIATION_SELECTOR = "\ufe0f"


def emojize(text: str) -> str:
    """Typed emoji (`:+1:`, `:wave::skin-tone-3:`) as the characters a phone shows; a code the
    emoji library does not know (a workspace's custom emoji) stays as typed."""

    def toned(match: re.Match[str]) -> str:
        base = emoji.emojize(f":{match[1]}:", language="alias")
        if not emoji.is_emoji(base):
            return match[0]
        tone = "1_2" if match[2] == "2" else match[2]
        modifier = emoji.emojize(f":emoji_modifier_fitzpatrick_type_{tone}:", language="alias")
        with_tone = base.replace(_VARIATION_SELECTOR, "") + modifier
        return with_tone if emoji.is_emoji(with_tone) else base

    return emoji.emojize(_TONED.sub(toned, text), language="alias")


def emoji_in(text: str) -> list[str]:
    """Each emoji in `text`, once, in order."""
    return list(emoji.distinct_emoji_list(text))


def for_caller(text: str) -> str:
    """A crew member's Slack message as the caller reads it: plain, emoji as characters."""
    return emojize(to_plain(text))
