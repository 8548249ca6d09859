"""The automated texts. Each names the business, says sorry, invites a reply and states STOP.

The defaults stay within one GSM-7 segment (160 characters) for business names up to ~25
characters: plain ASCII on purpose, since one curly quote or dash would make it UCS-2 (70).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.segments import SegmentInfo, count_segments

Kind = Literal["business", "after_hours", "repeat"]
KINDS: tuple[Kind, ...] = ("business", "after_hours", "repeat")

DEFAULTS: dict[Kind, str] = {
    "business": (
        "Hi, this is {business}. Sorry we missed your call! What can we help with? "
        "Reply here{or_link}. Reply STOP to opt out."
    ),
    "after_hours": (
        "Hi, this is {business}. Sorry we missed you, we're closed right now. "
        "Tell us what you need{or_link}. Reply STOP to opt out."
    ),
    "repeat": (
        "Hi again from {business}, sorry we missed you again! Reply here with what you "
        "need{or_link}. Reply STOP to opt out."
    ),
}


# With a link (our intake page): shorter wording, so "Johnson Electric" plus a realistic
# https://host/i/<12-character token> link still fits one GSM-7 segment. The link counts.
LINKED: dict[Kind, str] = {
    "business": (
        "{business}: sorry we missed your call! Tell us what you need: {link} or reply here. "
        "Reply STOP to opt out."
    ),
    "after_hours": (
        "{business}: we're closed, sorry we missed you! Tell us what you need: {link} or "
        "reply here. Reply STOP to opt out."
    ),
    "repeat": (
        "Hi again from {business}! Sorry we missed you. Tell us what you need: {link} or reply "
        "here. Reply STOP to opt out."
    ),
}


@dataclass(frozen=True)
class Rendered:
    kind: Kind
    text: str

    @property
    def segments(self) -> SegmentInfo:
        return count_segments(self.text)


def render(kind: Kind, *, business: str, link: str | None, template: str | None = None) -> Rendered:
    default = LINKED[kind] if link else DEFAULTS[kind]
    text = (template or default).format(
        business=business, or_link=f" or use {link}" if link else "", link=link or ""
    )
    return Rendered(kind=kind, text=text)


def help_reply(business: str) -> str:
    """CTIA: HELP answers with who we are, how to get help and how to opt out."""
    return (
        f"{business}: reply here and our team will get back to you. "
        "Msg & data rates may apply. Reply STOP to opt out."
    )


def opt_out_confirmation(business: str) -> str:
    """The one confirmation the FCC allows: names us, says no more messages, no marketing."""
    return (
        f"{business}: you are unsubscribed and will get no more texts from us. "
        "Reply START to resubscribe."
    )


def opt_in_confirmation(business: str) -> str:
    return f"{business}: you are resubscribed. Reply STOP to opt out."
