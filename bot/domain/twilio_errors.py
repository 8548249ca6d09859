"""Twilio error codes: which are worth retrying, and how to say the rest in plain words."""

from __future__ import annotations

OPTED_OUT = 21610
# The number can't get texts: a landline, or a carrier that takes no texts (30006 arrives in the
# status callback; 21614 when Twilio refuses the send outright). Only a call reaches them.
CANNOT_TEXT = frozenset({21614, 30006})

PLAIN_WORDS = {
    21211: "the number is not a valid phone number",
    21408: "texting that country is not enabled on the Twilio account",
    21610: "the caller has opted out of texts from this number (STOP)",
    21612: "Twilio cannot text this number from our number",
    21614: "the number is not a mobile phone (landline?)",
    30003: "the phone is off or unreachable",
    30004: "the message was blocked by the recipient or their carrier",
    30005: "the number is unknown or no longer in service",
    30006: "the number is a landline or its carrier cannot receive texts",
    30007: "the carrier filtered the message as spam",
    30008: "the carrier reported an unknown error",
    30034: "our number is not registered for business texting (10DLC)",
    # Placing a call (the crew's call back)
    13224: "the number called is not a valid phone number",
    13227: "calls to that country are not enabled on the Twilio account",
    21210: "the business number is not one Twilio lets this account call from",
    21215: "the Twilio account's geographic permissions do not allow calls to that number",
    21217: "the number is not a valid phone number",
    21219: "a trial Twilio account may only call numbers verified in its Console",
}

TOO_MANY_REQUESTS = 20429  # too many concurrent requests for the account
# Twilio said "slow down" or had a fault of its own: the same request may succeed later.
RETRYABLE_CODES = frozenset({TOO_MANY_REQUESTS, 20500, 20503})


def is_retryable(http_status: int | None, code: int | None) -> bool:
    if code in RETRYABLE_CODES:
        return True
    return http_status is None or http_status == 429 or http_status >= 500


def is_throttled(http_status: int | None, code: int | None) -> bool:
    """Too many requests at once (20429) or too fast (429): send fewer at a time."""
    return code == TOO_MANY_REQUESTS or http_status == 429


def describe(code: int | None, fallback: str = "Twilio refused the message") -> str:
    if code is None:
        return fallback
    return f"{PLAIN_WORDS.get(code, fallback)} (Twilio error {code})"
