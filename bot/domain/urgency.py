"""Is a caller's text an emergency? Pure; the crew is pinged in the channel when it is.

Words, not substrings ("sparkling" is not "sparking"). "fire" and "smoke" are left out: callers
ask electricians about smoke detectors and fire alarms all day."""

from __future__ import annotations

import re

URGENT_WORDS = (
    "urgent",
    "emergency",
    "flooding",
    "flooded",
    "flood",
    "no heat",
    "sparking",
    "sparks",
    "gas leak",
    "smell gas",
    "burst pipe",
    "pipe burst",
)
_PATTERN = re.compile(r"\b(" + "|".join(re.escape(w) for w in URGENT_WORDS) + r")\b", re.I)


def is_urgent(text: str) -> bool:
    return bool(_PATTERN.search(" ".join(text.split())))
