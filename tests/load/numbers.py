"""Distinct caller numbers that libphonenumber accepts: NXX-555-01xx across US area codes."""

from __future__ import annotations

from collections.abc import Iterator

import phonenumbers


def valid_callers() -> Iterator[str]:
    for area in range(201, 990):
        probe = f"+1{area}5550150"
        if not phonenumbers.is_valid_number(phonenumbers.parse(probe)):
            continue
        for line in range(100, 200):
            yield f"+1{area}555{line:04d}"


def callers(count: int) -> list[str]:
    found: list[str] = []
    for number in valid_callers():
        found.append(number)
        if len(found) == count:
            return found
    raise ValueError(f"only {len(found)} test numbers available, {count} asked")
