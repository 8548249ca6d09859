"""What the template command and the template editor modal share: names, preview, values."""

from __future__ import annotations

from bot.domain import template_guard, templates
from bot.domain.line import Line
from bot.domain.slack_text import escape
from bot.services import Services

KIND_NAMES: dict[str, templates.Kind] = {
    "business": "business",
    "after-hours": "after_hours",
    "after_hours": "after_hours",
    "afterhours": "after_hours",
    "repeat": "repeat",
}
LABELS: dict[templates.Kind, str] = {
    "business": "business",
    "after_hours": "after-hours",
    "repeat": "repeat",
}


def worst_case(services: Services, line: Line) -> templates.Values:
    """The longest values a first text on this line can have: its link as INTAKE_LINK has it
    (the real URL, one as long as our intake page's, or none)."""
    link = line.fixed_link
    if line.intake_link == "page":
        link = template_guard.placeholder_link(services.settings.public_url)
    return template_guard.worst_case(line.business_name, link)


def show_preview(preview: template_guard.Preview) -> str:
    quoted = "\n".join(f">{escape(row)}" for row in preview.text.splitlines() or [""])
    info = preview.info
    lines = [
        quoted,
        f"{info.characters} characters · {info.segments} segment"
        f"{'' if info.segments == 1 else 's'} · {info.encoding}",
    ]
    if preview.ucs2_characters:
        shown = ", ".join(f"`{c}` (U+{ord(c):04X})" for c in preview.ucs2_characters)
        lines.append(f"Forces UCS-2 (70 characters a segment instead of 160): {shown}")
    return "\n".join(lines)


def describe_kind(services: Services, line: Line, kind: templates.Kind) -> str:
    text = line.templates.get(kind) or templates.default_for(kind, line.intake_link != "off")
    version = line.template_versions.get(kind)
    source = "set in Slack" if kind in line.templates else "default"
    if version:
        source += f", version {version}"
    values = worst_case(services, line)
    shown = f"*{LABELS[kind]}* ({source}):\n{show_preview(template_guard.preview(text, values))}"
    if kind in line.templates:  # saved under other settings (a link since turned off)
        reasons = template_guard.check(text, values).reasons
        if reasons:
            shown += "\n:warning: As set now it would be refused: " + "; ".join(
                escape(reason) for reason in reasons
            )
    return shown
