"""The rules an automated text must pass before it goes out under the business's number.

Pure: a template and the line's values in, every reason it is refused (all at once) and a preview
out. The first text to a caller must be informational (shared/PLATFORM.md, US texting rules): it
names the business, states the opt-out, stays short, and sells nothing.

The preview is rendered by the same templates.fill() the real send uses, with the longest values
a real send can have: the real business name, the real link (or, when none is configured, a link
as long as our intake links), a FIRST_NAME_MAX-letter first name and the longest time of day. The
real text is therefore never longer, nor in a costlier encoding, than what was previewed.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from bot.domain import templates
from bot.domain.intake import TOKEN_BYTES
from bot.domain.segments import SegmentInfo, count_segments, non_gsm_characters

MAX_SEGMENTS = 2
OPT_OUT_LINE = "Reply STOP to opt out"
# A first name of FIRST_NAME_MAX letters: first_name() never yields anything longer.
LONGEST_FIRST_NAME = "Christabella"
assert len(LONGEST_FIRST_NAME) == templates.FIRST_NAME_MAX
LONGEST_TIME_OF_DAY = max(templates.TIMES_OF_DAY, key=len)
# As long as a per-lead intake link: PUBLIC_URL/i/ + a token of TOKEN_BYTES in URL-safe base64.
TOKEN_LENGTH = len(secrets.token_urlsafe(TOKEN_BYTES))

# Promotional wording; whole words, any case. "% off" is matched as written ("20% off").
PROMOTIONAL = (
    ("% off", re.compile(r"%\s*off\b", re.IGNORECASE)),
    ("sale", re.compile(r"\bsales?\b", re.IGNORECASE)),
    ("discount", re.compile(r"\bdiscount(s|ed)?\b", re.IGNORECASE)),
    ("free", re.compile(r"\bfree\b", re.IGNORECASE)),
    ("deal", re.compile(r"\bdeals?\b", re.IGNORECASE)),
    ("limited time", re.compile(r"\blimited[\s-]+time\b", re.IGNORECASE)),
)
_SPACES = re.compile(r"\s+")


def placeholder_link(public_url: str) -> str:
    return f"{public_url.rstrip('/')}/i/{'x' * TOKEN_LENGTH}"


def worst_case(business: str, link: str | None) -> templates.Values:
    """The longest values a real rendering can have for this line."""
    return templates.Values(
        business=business,
        link=link,
        first_name=LONGEST_FIRST_NAME,
        time_of_day=LONGEST_TIME_OF_DAY,
    )


@dataclass(frozen=True)
class Preview:
    text: str
    info: SegmentInfo
    ucs2_characters: list[str] = field(default_factory=list)


def preview(template: str, values: templates.Values) -> Preview:
    text = templates.fill(template, values)
    return Preview(text=text, info=count_segments(text), ucs2_characters=non_gsm_characters(text))


@dataclass(frozen=True)
class Verdict:
    reasons: list[str]
    preview: Preview | None  # None when the template cannot be filled at all

    @property
    def ok(self) -> bool:
        return not self.reasons


def check(template: str, values: templates.Values) -> Verdict:
    """Every reason `template` is refused, with a worst-case preview. `values` from worst_case()."""
    reasons: list[str] = []
    if not template.strip():
        return Verdict(["the text is empty"], None)
    fillable = True
    try:
        placeholders = templates.fields(template)
    except templates.TemplateError as exc:
        placeholders, fillable = [], False
        reasons.append(f"the braces don't match ({exc}); placeholders look like {{business}}")
    known = ", ".join(f"{{{name}}}" for name in templates.PLACEHOLDERS)
    for name, spec, conversion in placeholders:
        if name not in templates.PLACEHOLDERS or spec or conversion:
            fillable = False
            reasons.append(f"{{{name}}} is not a placeholder I know (use {known})")
    if values.link is None and any(name == "link" for name, _, _ in placeholders):
        reasons.append(
            "there is no link to put in {link} (INTAKE_LINK=off); use {or_link}, which is "
            "left out when there is no link"
        )
    named = any(name == "business" for name, _, _ in placeholders)
    if not named and values.business.lower() not in template.lower():
        reasons.append(f"it must name the business: put in {{business}} or {values.business}")
    if OPT_OUT_LINE.lower() not in _SPACES.sub(" ", template).lower():
        reasons.append(f'it must tell the caller how to opt out: "{OPT_OUT_LINE}."')
    for word, pattern in PROMOTIONAL:
        found = pattern.search(_words_only(template, values.business))
        if found:
            reasons.append(
                f'"{found.group(0)}" reads as promotion ({word}); the first text must be '
                "informational only"
            )
    shown: Preview | None = None
    if fillable:
        shown = preview(template, values)
        if shown.info.segments > MAX_SEGMENTS:
            reasons.append(
                f"it is {shown.info.segments} segments at its longest; at most {MAX_SEGMENTS} "
                "are allowed"
                + (" (the characters below force UCS-2)" if shown.ucs2_characters else "")
            )
    return Verdict(reasons, shown)


def _words_only(template: str, business: str) -> str:
    """The template's own words: without placeholders or the business's name (which may be
    "Free State Plumbing")."""
    text = re.sub(r"\{[^{}]*\}", " ", template)
    return re.sub(re.escape(business), " ", text, flags=re.IGNORECASE) if business else text
