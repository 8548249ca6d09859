"""A finding (✓ / ✗ / ! / ·, what was found, the fix) and how a report of them prints."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum

from bot.domain.slack_text import escape


class Mark(StrEnum):
    OK = "✓"
    FAIL = "✗"  # something will not work: exit 1
    WARN = "!"  # works, with a risk or a doubt
    INFO = "·"  # said, not judged (what can't be checked from here)


@dataclass(frozen=True)
class Finding:
    mark: Mark
    subject: str  # what was checked: "token", "+12125550100 calls", "#leads"
    found: str  # what was found
    fix: str = ""  # the exact fix: which console page, which command


@dataclass(frozen=True)
class Section:
    """The findings of one service, in the order its checks ran."""

    name: str
    findings: tuple[Finding, ...]


def ok(subject: str, found: str) -> Finding:
    return Finding(Mark.OK, subject, found)


def fail(subject: str, found: str, fix: str) -> Finding:
    return Finding(Mark.FAIL, subject, found, fix)


def warn(subject: str, found: str, fix: str = "") -> Finding:
    return Finding(Mark.WARN, subject, found, fix)


def info(subject: str, found: str) -> Finding:
    return Finding(Mark.INFO, subject, found)


def exit_code(sections: Iterable[Section]) -> int:
    """0 when nothing failed (warnings allowed), 1 when something did."""
    failed = any(f.mark is Mark.FAIL for section in sections for f in section.findings)
    return 1 if failed else 0


def render(sections: Sequence[Section]) -> str:
    """For a terminal: a heading per service, a line per finding, its fix indented below."""
    rows: list[str] = []
    for section in sections:
        rows.append(section.name)
        for finding in section.findings:
            rows.append(f"  {finding.mark} {finding.subject}: {finding.found}")
            if finding.fix and finding.mark is not Mark.OK:
                rows.append(f"      fix: {finding.fix}")
    failed = sum(f.mark is Mark.FAIL for s in sections for f in s.findings)
    warned = sum(f.mark is Mark.WARN for s in sections for f in s.findings)
    if failed:
        rows.append(f"{failed} to fix, {warned} to look at.")
    elif warned:
        rows.append(f"Nothing to fix; {warned} to look at.")
    else:
        rows.append("All good.")
    return "\n".join(rows)


def render_slack(sections: Sequence[Section]) -> str:
    """For /textback status: the same lines in mrkdwn, what came from the services escaped."""
    rows: list[str] = []
    for section in sections:
        for finding in section.findings:
            subject, found = escape(finding.subject), escape(finding.found)
            row = f"{finding.mark} {section.name} {subject}: {found}"
            if finding.fix and finding.mark is not Mark.OK:
                row += f"\n      _fix:_ {escape(finding.fix)}"
            rows.append(row)
    return "\n".join(rows)


def to_json(sections: Sequence[Section]) -> str:
    return json.dumps(
        [{"name": s.name, "findings": [asdict(f) for f in s.findings]} for s in sections]
    )


def from_json(text: str) -> list[Section]:
    return [
        Section(
            str(raw["name"]),
            tuple(
                Finding(Mark(f["mark"]), str(f["subject"]), str(f["found"]), str(f["fix"]))
                for f in raw["findings"]
            ),
        )
        for raw in json.loads(text)
    ]
