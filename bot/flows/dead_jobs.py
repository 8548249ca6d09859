"""`python -m bot outbox dead [--retry]`: the jobs the outbox buried, and putting them back.

A job is buried when it can never succeed, or after its last retry (the crew was told in
Slack when it was theirs: outbox/traces.py). The listing masks callers' numbers, like every
log line; --retry puts each back on its queue as new, attempts from the first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TextIO

from bot.domain.jobs import SendSms
from bot.domain.phone import masked, redact_numbers
from storage.outbox import DeadJob, Outbox

PROGRESS_EVERY = 100  # jobs


def describe(dead: DeadJob) -> str:
    """One line per buried job: when, queue, kind, id, to whom (masked), why."""
    when = datetime.fromtimestamp(dead.at, UTC).strftime("%Y-%m-%d %H:%M:%SZ") if dead.at else "?"
    job = dead.job
    job_id = redact_numbers(job.id) if job else "(unreadable)"
    to = f" to={masked(job.payload.to)}" if job and isinstance(job.payload, SendSms) else ""
    return f"{when}  {dead.queue:<5}  {dead.kind:<13}  {job_id}{to}  {redact_numbers(dead.reason)}"


async def show(outbox: Outbox, out: TextIO, limit: int) -> int:
    buried = await outbox.dead(limit)
    counts = await outbox.dead_counts()
    total = sum(counts.values())
    by_kind = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))
    print(
        f"{total} buried job{'' if total == 1 else 's'}" + (f" ({by_kind})" if by_kind else ""),
        file=out,
    )
    for dead in buried:
        print(describe(dead), file=out)
    if len(buried) < total:
        print(f"(the newest {len(buried)} shown; --limit for more)", file=out)
    return len(buried)


async def retry(outbox: Outbox, out: TextIO, progress: TextIO, limit: int) -> int:
    """Requeues the newest `limit` buried jobs; unreadable ones stay. Returns how many."""
    buried = await outbox.dead(limit)
    requeued = kept = 0
    for n, dead in enumerate(buried, start=1):
        if await outbox.requeue_dead(dead):
            requeued += 1
            print(f"requeued  {describe(dead)}", file=out)
        else:
            kept += 1
        if n % PROGRESS_EVERY == 0:
            print(f"outbox dead --retry: {n} of {len(buried)}…", file=progress)
    note = f", {kept} unreadable kept" if kept else ""
    print(f"outbox dead --retry: done, {requeued} requeued{note}", file=progress)
    return requeued
