"""Who is on call: one person, or a weekly rotation, per line. Pure.

`@here` reaches only people active in Slack at that moment; a user mention (`<@U…>`) pushes to
that person's phone. A rotation is one Slack user id per weekday (Monday first, "" for nobody),
and the day is the line's own: it switches at midnight in the line's time zone.

Slack sends a person picked in a slash command as `<@U…|name>` (or `<@U…>`) when the command
escapes users (manifests/slack.yaml: should_escape: true); without that it sends the name as
typed, "@maria", which names nobody for certain: we say how to fix the command instead of
guessing.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.domain.hours import DAY_NAMES, HoursError, describe_days, parse_days
from bot.domain.line import Line

Rota = tuple[str, ...]  # 7 Slack user ids, Monday first; "" where nobody is on call
EXAMPLE = "mon-fri @maria; sat-sun @joe"
_PERSON = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_PLAIN_NAME = re.compile(r"(?<![<\w])@([\w.\-]+)")
ESCAPING_OFF = (
    'Slack sent "@{name}" as plain text, not as a person. The /textback command needs '
    '"Escape channels, users, and links sent to your app" turned on (Slack app settings > '
    "Slash Commands > /textback; manifests/slack.yaml sets should_escape: true); then pick the "
    "person from the list Slack shows as you type @."
)


class OnCallError(ValueError):
    """A rotation that can't be read; the message says why and shows the form."""


def parse(text: str) -> Rota:
    """ "<@U1>" (every day) or "mon-fri <@U1>; sat-sun <@U2>" -> the rota."""
    rota = [""] * 7
    clauses = [clause.strip() for clause in text.split(";") if clause.strip()]
    if not clauses:
        raise OnCallError(f"who is on call? e.g. `@maria`, or `{EXAMPLE}`")
    for clause in clauses:
        people = _PERSON.findall(clause)
        if not people:
            plain = _PLAIN_NAME.search(clause)
            if plain:
                raise OnCallError(ESCAPING_OFF.format(name=plain.group(1)))
            raise OnCallError(f'no person in "{clause}": mention one, e.g. `{EXAMPLE}`')
        if len(people) > 1:
            raise OnCallError(
                f'one person per day range in "{_PERSON.sub("@…", clause)}" '
                f"(a rotation: `{EXAMPLE}`)"
            )
        days_text = _PERSON.sub(" ", clause).strip()
        try:
            days = parse_days(days_text) if days_text else list(range(7))
        except HoursError as exc:
            raise OnCallError(f"{exc} (e.g. `{EXAMPLE}`)") from None
        for day in days:
            if rota[day] and rota[day] != people[0]:
                raise OnCallError(f"{DAY_NAMES[day]} has two people on call: give each day one")
            rota[day] = people[0]
    return tuple(rota)


def stored(rota: Rota) -> str:
    return ",".join(rota)


def load(raw: str) -> Rota:
    """The stored form back; () when it doesn't read (nobody on call rather than a wrong one)."""
    rota = tuple(raw.split(","))
    if len(rota) != 7 or not all(not user or _PERSON.fullmatch(f"<@{user}>") for user in rota):
        return ()
    return rota


def on_call(line: Line, epoch: float) -> str | None:
    """The Slack user id on call on this line at `epoch` (its own day), or None."""
    if not line.on_call:
        return None
    return line.on_call[datetime.fromtimestamp(epoch, line.timezone).weekday()] or None


def describe(rota: Rota) -> str:
    """ "Mon-Fri <@U1>; Sat-Sun <@U2>", "<@U1> every day", or "nobody"."""
    if not any(rota):
        return "nobody"
    people = list(dict.fromkeys(user for user in rota if user))
    if len(people) == 1 and all(rota):
        return f"<@{people[0]}> every day"
    parts = [
        f"{describe_days([d for d, user in enumerate(rota) if user == person])} <@{person}>"
        for person in people
    ]
    gaps = [d for d, user in enumerate(rota) if not user]
    if gaps:
        parts.append(f"{describe_days(gaps)} nobody")
    return "; ".join(parts)
