"""The automated texts. Each names the business, says sorry, invites a reply and states STOP.

The defaults stay within one GSM-7 segment (160 characters) for business names up to ~25
characters: plain ASCII on purpose, since one curly quote or dash would make it UCS-2 (70).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.domain.segments import GSM7_BASIC, SegmentInfo, count_segments

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


# What a template may say in braces. {or_link} is " or use <link>" when there is a link, else "".
PLACEHOLDERS = ("business", "link", "or_link", "first_name", "time_of_day")
# {first_name} when Twilio gives no usable caller name: "Hi {first_name}" reads "Hi there".
FIRST_NAME_FALLBACK = "there"
FIRST_NAME_MAX = 12  # longer names fall back, so a preview with a 12-letter name is the worst case
TIMES_OF_DAY = ("this morning", "this afternoon", "this evening")


@dataclass(frozen=True)
class Values:
    """What the placeholders become. Render and the template preview both go through fill()."""

    business: str
    link: str | None = None
    first_name: str = FIRST_NAME_FALLBACK
    time_of_day: str = "this afternoon"


def first_name(caller_name: str | None) -> str:
    """The caller's first name from Twilio's CallerName, or the fallback.

    Only plain GSM-7 letters, at most FIRST_NAME_MAX of them: a name can never make the text
    longer than the preview promised, nor switch it to UCS-2."""
    words = (caller_name or "").split()
    if not words:
        return FIRST_NAME_FALLBACK
    word = words[0].strip(",")
    if not word.isalpha():
        return FIRST_NAME_FALLBACK
    # Checked after capitalising: GSM-7 has è and ù but not È or Ù, and ß becomes "Ss".
    word = word.capitalize()
    if len(word) > FIRST_NAME_MAX or not set(word) <= GSM7_BASIC:
        return FIRST_NAME_FALLBACK
    return word


def time_of_day(local: datetime) -> str:
    if local.hour < 12:
        return TIMES_OF_DAY[0]
    return TIMES_OF_DAY[1] if local.hour < 17 else TIMES_OF_DAY[2]


class TemplateError(ValueError):
    """A template that cannot be filled: unbalanced braces or an unknown placeholder."""


def fields(template: str) -> list[tuple[str, str | None, str | None]]:
    """Each placeholder as (name, format spec, conversion); TemplateError on broken braces."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(str(exc)) from None
    return [(name, spec, conv) for _, name, spec, conv in parsed if name is not None]


def fill(template: str, values: Values) -> str:
    """Substitute the known placeholders; nothing else of str.format (no attributes, no specs)."""
    by_name = {
        "business": values.business,
        "link": values.link or "",
        "or_link": f" or use {values.link}" if values.link else "",
        "first_name": values.first_name,
        "time_of_day": values.time_of_day,
    }
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(str(exc)) from None
    out: list[str] = []
    for literal, name, spec, conversion in parsed:
        out.append(literal)
        if name is None:
            continue
        if name not in by_name or spec or conversion:
            raise TemplateError(f"unknown placeholder {{{name}}}")
        out.append(by_name[name])
    return "".join(out)


@dataclass(frozen=True)
class Rendered:
    kind: Kind
    text: str

    @property
    def segments(self) -> SegmentInfo:
        return count_segments(self.text)


def render(
    kind: Kind,
    *,
    business: str,
    link: str | None,
    template: str | None = None,
    caller_name: str | None = None,
    local: datetime | None = None,
) -> Rendered:
    values = Values(
        business=business,
        link=link,
        first_name=first_name(caller_name),
        time_of_day=time_of_day(local) if local is not None else TIMES_OF_DAY[1],
    )
    return Rendered(kind=kind, text=fill(template or default_for(kind, bool(link)), values))


def default_for(kind: Kind, linked: bool) -> str:
    """The environment's text: the shorter LINKED wording when the text carries a link."""
    return LINKED[kind] if linked else DEFAULTS[kind]


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
