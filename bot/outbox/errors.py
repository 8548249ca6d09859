"""What a job's work raises when it should run again later, or wait."""

from __future__ import annotations


class Retry(Exception):
    """Not done, and worth another attempt (a 429, a 5xx, a network error): the worker puts the
    job back on the retry schedule, no sooner than `after` seconds.

    throttled: the upstream refused it as one request too many at once (Twilio's 20429), so
    the worker runs fewer of that queue's jobs at once for a while (outbox/limits.py)."""

    def __init__(self, reason: str, after: float | None = None, *, throttled: bool = False) -> None:
        super().__init__(reason)
        self.after = after
        self.throttled = throttled


class Held(Exception):
    """Slack refused for a reason that is the business's wiring, not this job's (a revoked
    token, the bot removed from the channel): the job waits, using no attempt, until a check
    finds the wiring working again (outbox/holds.py), then runs in its turn.

    scope: "token" (every call fails) or "channel:<id>" (calls to that channel fail)."""

    def __init__(self, scope: str, error: str) -> None:
        super().__init__(f"slack {error} ({scope})")
        self.scope = scope
        self.error = error
