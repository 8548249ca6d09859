"""SMS segment counting, so the template editor can show what a text-back will cost.

A message is sent as GSM-7 if every character is in the GSM 03.38 alphabet (3GPP TS 23.038),
otherwise the whole message becomes UCS-2 and holds far fewer characters per segment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

GSM_SINGLE_SEGMENT = 160  # septets in a message that fits in one SMS
GSM_MULTIPART_SEGMENT = 153  # septets per part once the concatenation header takes 7
UCS2_SINGLE_SEGMENT = 70  # UTF-16 code units in one SMS
UCS2_MULTIPART_SEGMENT = 67

# The GSM 03.38 default alphabet in table order, minus 0x1B (the escape to the extension table).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Characters sent as escape + code, so each takes two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


@dataclass(frozen=True)
class SegmentInfo:
    encoding: Literal["GSM-7", "UCS-2"]
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int
    characters: int


def count_segments(text: str) -> SegmentInfo:
    if is_gsm7(text):
        costs = [2 if char in GSM7_EXTENSION else 1 for char in text]
        return SegmentInfo(
            encoding="GSM-7",
            units=sum(costs),
            segments=_segments(costs, GSM_SINGLE_SEGMENT, GSM_MULTIPART_SEGMENT),
            characters=len(text),
        )
    # Characters beyond the Basic Multilingual Plane (most emoji) are a UTF-16 surrogate pair.
    costs = [2 if ord(char) > 0xFFFF else 1 for char in text]
    return SegmentInfo(
        encoding="UCS-2",
        units=sum(costs),
        segments=_segments(costs, UCS2_SINGLE_SEGMENT, UCS2_MULTIPART_SEGMENT),
        characters=len(text),
    )


def is_gsm7(text: str) -> bool:
    return not non_gsm_characters(text)


def non_gsm_characters(text: str) -> list[str]:
    """Each character that forces UCS-2, once, in the order it first appears."""
    return list(dict.fromkeys(c for c in text if c not in GSM7_BASIC and c not in GSM7_EXTENSION))


def _segments(costs: list[int], single: int, multipart: int) -> int:
    total = sum(costs)
    if total == 0:
        return 0
    if total <= single:
        return 1
    return _pack(costs, multipart)


def _pack(costs: Iterable[int], size: int) -> int:
    """Fill parts greedily; a two-unit character (escape pair, surrogate pair) is never split."""
    parts, used = 1, 0
    for cost in costs:
        if used + cost > size:
            parts, used = parts + 1, 0
        used += cost
    return parts
