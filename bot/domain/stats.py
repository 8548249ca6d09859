"""Stats for the crew: per-day counters summed over 7 or 30 days, and the card that shows them.

Pure: storage hands over each day's counters and response times; this adds and renders.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

BARS = " ▁▂▃▄▅▆▇█"
COUNTERS = ("missed", "after_hours", "texted", "replied", "claimed", "booked")


@dataclass(frozen=True)
class Day:
    day: date
    counts: dict[str, int]
    response_seconds: tuple[float, ...] = ()

    def get(self, name: str) -> int:
        return self.counts.get(name, 0)


@dataclass(frozen=True)
class Summary:
    days: tuple[Day, ...]
    totals: dict[str, int]
    suppressed: dict[str, int]
    median_response: float | None
    p90_response: float | None

    def rate(self, part: str, whole: str) -> float | None:
        return self.totals[part] / self.totals[whole] if self.totals[whole] else None


def day_range(last: date, days: int) -> list[date]:
    return [last - timedelta(days=n) for n in range(days - 1, -1, -1)]


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (fraction 0.5 = median, 0.9 = p90)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(fraction * len(ordered) * 1000) // 1000))
    return ordered[min(rank, len(ordered)) - 1]


def summarise(days: list[Day]) -> Summary:
    totals = {name: sum(d.get(name) for d in days) for name in COUNTERS}
    suppressed: dict[str, int] = {}
    for d in days:
        for name, count in d.counts.items():
            if name.startswith("suppressed:"):
                reason = name.split(":", 1)[1]
                suppressed[reason] = suppressed.get(reason, 0) + count
    times = [t for d in days for t in d.response_seconds]
    median = statistics.median(times) if times else None
    return Summary(tuple(days), totals, suppressed, median, percentile(times, 0.9))


def bar_chart(values: list[int]) -> str:
    top = max(values) if values else 0
    if top == 0:
        return BARS[0] * len(values)
    return "".join(BARS[min(8, -(-v * 8 // top))] if v else BARS[0] for v in values)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def render(summary: Summary, title: str) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for /textback stats and the weekly digest."""
    t = summary.totals
    suppressed = ", ".join(
        f"{k.replace('_', ' ')} {v}" for k, v in sorted(summary.suppressed.items())
    )
    after_hours = t["after_hours"] / t["missed"] if t["missed"] else None
    lines = [
        f"*Missed calls* {t['missed']} · *auto-texts* {t['texted']} · "
        f"*suppressed* {sum(summary.suppressed.values())}"
        + (f" ({suppressed})" if suppressed else ""),
        f"*Callers replied* {t['replied']} ({_pct(summary.rate('replied', 'texted'))} of texted) · "
        f"*claimed* {t['claimed']} · *booked* {t['booked']} "
        f"({_pct(summary.rate('booked', 'replied'))} of replies)",
        f"*First human answer* median {_duration(summary.median_response)} · "
        f"p90 {_duration(summary.p90_response)} · *after hours* {_pct(after_hours)} of calls",
    ]
    missed = [d.get("missed") for d in summary.days]
    first, last = summary.days[0].day, summary.days[-1].day
    chart = (
        f"missed calls per day, {first:%b %-d} – {last:%b %-d}\n"
        f"{bar_chart(missed)}  max {max(missed) if missed else 0}"
    )
    if len(summary.days) <= 7:  # a week fits day initials under the bars
        chart += "\n" + "".join(d.day.strftime("%a")[0] for d in summary.days)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"```{chart}```"}},
    ]
    text = f"{title}: {t['missed']} missed calls, {t['texted']} auto-texts, {t['booked']} booked"
    return text, blocks
