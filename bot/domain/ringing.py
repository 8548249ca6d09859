"""How the crew's phones ring for a call: all at once, and again without a phone that answered
silently. Pure.

Twilio's <Dial> with several <Number>s rings them all and connects the first leg that answers,
hanging up the others. A switched-off phone, or one whose owner declined, is answered at once by
its voicemail: that leg wins, hears the screening prompt, presses nothing and is hung up, and the
dial is over before anyone else could pick up. So when a round ends with a leg that answered
without a key press, the phones that didn't answer ring again, in a round of their own, for
RING_SECONDS; a phone that answered silently is not rung again for this call. A round in which
nobody answers, or a caller who hung up, ends it: the call is missed.

Ringing in sequence instead (each phone its share of RING_SECONDS) was the alternative: with three
phones each rings 6 s, about one ring, and the third only after 12 s of the caller's waiting.
Ringing together keeps the first answer fast; the extra round costs the caller only the time the
voicemail spent on the prompt.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence


def next_round(phones: Sequence[str], answered_silently: Collection[str]) -> tuple[str, ...]:
    """The phones to ring again after a round a voicemail (or a person who pressed nothing)
    took: every one that has not answered silently yet. Empty when no silent answer ended the
    round, or no phone is left."""
    if not answered_silently:
        return ()
    return tuple(phone for phone in phones if phone not in answered_silently)
