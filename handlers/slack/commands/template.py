"""`/textback template show|set|reset`: the automated texts, checked by the template guard.

Every answer shows the text as a caller would get it at its longest, with its characters,
segments and encoding; a refused text shows every reason at once.
"""

from __future__ import annotations

from bot.domain import template_guard, templates
from bot.domain.slack_text import escape, to_plain
from handlers.slack import template_modal
from handlers.slack.commands.admin import refusal
from handlers.slack.commands.invocation import AfterAck, Invocation, which_line
from handlers.slack.commands.template_common import (
    KIND_NAMES,
    LABELS,
    describe_kind,
    show_preview,
    worst_case,
)

# What the preview's link is, by INTAKE_LINK.
LINK_SHOWN = {
    "page": "a link as long as our intake page's",
    "url": "the INTAKE_URL link",
    "off": "no link: INTAKE_LINK is off",
}
FIRST_NAME_NOTE = (
    "_{first_name} is filled only when the number has Twilio's caller-name lookup (CNAM, "
    'paid) switched on; without it every text says "there" ("Hi there")._'
)
USAGE = (
    "Usage: `/textback template show`, `/textback template set <business|after-hours|repeat> "
    "<text>`, `/textback template reset <business|after-hours|repeat>` or "
    "`/textback template edit` (a form, easier on a phone).\n"
    'Placeholders: {business}, {link}, {or_link} (" or use <link>" when there is one), '
    "{first_name} (the caller's name: needs Twilio's caller-name lookup, CNAM, on the "
    'number; else "there"), {time_of_day} '
    '("this morning/afternoon/evening"). It must name the business and say "Reply STOP to opt '
    'out."'
)


async def template(invocation: Invocation) -> str | AfterAck:
    verb, _, rest = invocation.text.partition(" ")
    verb = verb.lower()
    services = invocation.services
    line = await invocation.current_line()
    if line is None:
        return which_line(services)
    if verb in ("show", ""):
        body = "\n\n".join(describe_kind(services, line, kind) for kind in templates.KINDS)
        return (
            f"{body}\n\n_Shown at their longest (a {template_guard.LONGEST_FIRST_NAME}-long "
            f"first name, {LINK_SHOWN[line.intake_link]})._\n{FIRST_NAME_NOTE}"
        )
    if verb == "edit":
        denied = refusal(services, invocation.role)
        if denied:
            return denied
        if not invocation.trigger_id:
            return "Slack sent no trigger for a form; use `/textback template set` instead."
        # views.open is a Slack call: it runs after the ack, within the trigger's 3 s.
        editing, trigger = line, invocation.trigger_id
        return AfterAck(
            "Opening the template editor…",
            lambda: template_modal.open_editor(services, editing, trigger),
        )
    if verb not in ("set", "reset"):
        return USAGE
    kind_word, _, text = rest.strip().partition(" ")
    kind = KIND_NAMES.get(kind_word.lower())
    if kind is None:
        which = f"`{kind_word}` is not a template" if kind_word else "Which template?"
        return f"{which}: use business, after-hours or repeat.\n{USAGE}"
    denied = refusal(services, invocation.role)
    if denied:
        return denied
    config = services.line_config
    if verb == "reset":
        if text.strip():
            return f"`template reset` takes only the template's name.\n{USAGE}"
        version = await config.reset_template(line.id, kind)
        services.lines.forget(line.id)
        line = await services.lines.current(line.id)
        return f"The {LABELS[kind]} text is back to the default (version {version}).\n" + (
            describe_kind(services, line, kind)
        )
    text = to_plain(text)  # Slack sends & < > escaped and links in its own markup
    if not text:
        return f"What should the {LABELS[kind]} text say?\n{USAGE}"
    verdict = template_guard.check(text, worst_case(services, line))
    if not verdict.ok:
        reasons = "\n".join(f"• {escape(reason)}" for reason in verdict.reasons)
        shown = (
            f"\nAt its longest it would read:\n{show_preview(verdict.preview)}"
            if (verdict.preview)
            else ""
        )
        return f"Not saved. The {LABELS[kind]} text needs changes:\n{reasons}{shown}"
    version = await config.set_template(line.id, kind, text)
    services.lines.forget(line.id)
    assert verdict.preview is not None
    return (
        f"Saved the {LABELS[kind]} text (version {version}). The next caller gets it; "
        f"at its longest it reads:\n{show_preview(verdict.preview)}"
    )
