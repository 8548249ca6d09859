"""Phone numbers: normalise to E.164, recognise hidden caller IDs, mask for logs."""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache

import phonenumbers

# What Twilio puts in From when the caller withheld their number.
HIDDEN_CALLER_IDS = frozenset({"", "anonymous", "unknown", "restricted", "private", "unavailable"})


class InvalidNumber(ValueError):
    pass


@lru_cache(maxsize=4096)  # the business number arrives on every webhook; parsing costs ~50 µs
def to_e164(raw: str, default_region: str = "US") -> str:
    """'(202) 555-0123' -> '+12025550123'; raises InvalidNumber for anything not dialable."""
    text = raw.strip()
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"{text!r} is not a phone number") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber(f"{text!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def caller_number(raw: str | None) -> str | None:
    """The caller's E.164 number, or None when caller ID is hidden or invalid."""
    if raw is None or raw.strip().lower().lstrip("+") in HIDDEN_CALLER_IDS:
        return None
    try:
        return to_e164(raw)
    except InvalidNumber:
        return None


def pretty(e164: str) -> str:
    """+12025550123 -> '(202) 555-0123' for US numbers, international format otherwise."""
    if len(e164) == 12 and e164.startswith("+1") and e164[1:].isdigit():
        # What phonenumbers' national format gives every +1 number, without its ~40 µs parse
        # (every lead card and card text shows one).
        return f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"
    parsed = phonenumbers.parse(e164, None)
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if parsed.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, fmt)


def masked(number: str | None) -> str:
    """For logs: keep enough to tell numbers apart, never the whole number."""
    if not number:
        return "-"
    return f"{number[:3]}…{number[-2:]}" if len(number) > 6 else "…"


_E164_IN_TEXT = re.compile(r"\+[0-9]{7,15}")


def redact_numbers(text: str, keep: Collection[str] = ()) -> str:
    """Free text (an error message, a job id, a reason) with every E.164 number in it masked,
    except `keep` (our own business numbers, which may be shown). Our code and Twilio's errors
    write numbers in E.164, so that is the form looked for."""
    return _E164_IN_TEXT.sub(lambda m: m[0] if m[0] in keep else masked(m[0]), text)


_NUMBERISH = set("0123456789+-.() ")


def number_and_rest(text: str, default_region: str = "US") -> tuple[str, str]:
    """'(202) 555-0123 plumbing supplier' -> ('+12025550123', 'plumbing supplier').

    The number is the shortest leading run of words that reads as a valid number, so it may
    contain spaces; InvalidNumber when the text starts with none."""
    words = text.split()
    for end in range(1, len(words) + 1):
        candidate = " ".join(words[:end])
        if not set(candidate) <= _NUMBERISH:
            break
        try:
            return to_e164(candidate, default_region), " ".join(words[end:])
        except InvalidNumber:
            continue
    shown = words[0] if words else ""
    raise InvalidNumber(f"{shown!r} is not a phone number")


def numbers_and_rest(text: str, default_region: str = "US") -> tuple[list[str], str]:
    """'202-555-0101, (202) 555-0102 suppliers' -> (['+12025550101', '+12025550102'],
    'suppliers'): numbers separated by commas, then whatever follows the last one (a note
    may itself hold commas). InvalidNumber names the first piece that reads as no number."""
    found: list[str] = []
    pieces = text.split(",")
    for index, piece in enumerate(pieces):
        if found and not piece.strip():
            continue  # "a, , b" or a trailing comma
        number, rest = number_and_rest(piece, default_region)
        if number not in found:
            found.append(number)
        if rest:
            return found, ",".join([rest, *pieces[index + 1 :]]).strip()
    return found, ""


def spoken(e164: str) -> str:
    """+12025550123 -> '2 0 2, 5 5 5, 0 1 2 3': digits a voice reads one by one, in groups."""
    groups: tuple[str, ...] = (e164.lstrip("+"),)
    if len(e164) == 12 and e164.startswith("+1") and e164[1:].isdigit():
        groups = (e164[2:5], e164[5:8], e164[8:])
    return ", ".join(" ".join(group) for group in groups)
