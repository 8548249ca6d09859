"""What a job's work raises when it should run again later."""

from __future__ import annotations


class Retry(Exception):
    """Not done, and worth another attempt (a 429, a 5xx, a network error): the worker puts the
    job back on the retry schedule, no sooner than `after` seconds."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after
