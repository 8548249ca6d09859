"""The template editor as a Slack modal, for editing on a phone: `/textback template edit`.

views.open shows the three texts; on submit each changed text goes through the template guard,
and a refused one shows its reasons under its own field (response_action "errors"), so nothing
typed is lost. Slack wants the modal opened within 3 s of the command.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.domain import template_guard, templates
from bot.domain.line import Line
from bot.services import Services
from handlers.slack import roles
from handlers.slack.commands.admin import refusal
from handlers.slack.commands.template_common import LABELS, worst_case

log = logging.getLogger(__name__)

CALLBACK_ID = "textback_templates"
ACTION_ID = "text"
VIEWS_OPEN_TIMEOUT = 2.0
MAX_LENGTH = 1000  # far above 2 segments; the guard says why a long text is refused
RECHECK = "I'm checking with Slack that you may save this; press Save again in a moment."


def block_id(kind: templates.Kind) -> str:
    return f"template_{kind}"


def _hint(services: Services, line: Line, text: str) -> str:
    preview = template_guard.preview(text, worst_case(services, line))
    info = preview.info
    return (
        f"Now at its longest: {info.characters} characters, {info.segments} segment"
        f"{'' if info.segments == 1 else 's'}, {info.encoding}"
    )


def editor_view(services: Services, line: Line) -> dict[str, Any]:
    placeholders = ", ".join(f"{{{name}}}" for name in templates.PLACEHOLDERS)
    blocks: list[dict[str, Any]] = [
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Placeholders: {placeholders}. Each text must name the business, "
                    'say "Reply STOP to opt out.", fit 2 segments and sell nothing.',
                }
            ],
        }
    ]
    for kind in templates.KINDS:
        current = line.templates.get(kind) or templates.default_for(kind, linked=True)
        blocks.append(
            {
                "type": "input",
                "block_id": block_id(kind),
                "label": {"type": "plain_text", "text": f"The {LABELS[kind]} text"},
                "hint": {"type": "plain_text", "text": _hint(services, line, current)},
                "element": {
                    "type": "plain_text_input",
                    "action_id": ACTION_ID,
                    "multiline": True,
                    "max_length": MAX_LENGTH,
                    "initial_value": current,
                },
            }
        )
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "private_metadata": line.id,  # which line's texts, back with the submission
        "title": {"type": "plain_text", "text": "Auto-texts"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


async def open_editor(services: Services, line: Line, trigger_id: str) -> str | None:
    """Opens the editor (after the command's ack); None when it opened, else what to tell."""
    try:
        await asyncio.wait_for(
            services.slack.views_open(trigger_id=trigger_id, view=editor_view(services, line)),
            VIEWS_OPEN_TIMEOUT,
        )
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("views.open failed error=%s", type(exc).__name__)
        return "Slack didn't open the form; try again, or use `/textback template set`."
    return None


def submitted_errors(
    services: Services, line: Line, values: dict[str, Any]
) -> tuple[dict[str, str], dict[templates.Kind, str]]:
    """(errors by block id, changed texts by kind) for a submitted editor."""
    errors: dict[str, str] = {}
    changes: dict[templates.Kind, str] = {}
    for kind in templates.KINDS:
        field = values.get(block_id(kind), {}).get(ACTION_ID, {})
        text = str(field.get("value") or "").strip()
        if text == (line.templates.get(kind) or templates.default_for(kind, linked=True)):
            continue
        verdict = template_guard.check(text, worst_case(services, line))
        if verdict.ok:
            changes[kind] = text
        else:
            errors[block_id(kind)] = "Not saved: " + "; ".join(verdict.reasons)
    return errors, changes


async def on_submit(
    services: Services, ack: Any, body: dict[str, Any], view: dict[str, Any]
) -> None:
    """view_submission of the editor (callback_id CALLBACK_ID)."""
    user_id = str((body.get("user") or {}).get("id") or "")
    first_block = block_id(templates.KINDS[0])
    role = await roles.known(services, user_id)  # known ahead: no Slack call before the ack
    if role is None:
        # Not known any more (it was when the editor opened): ask now, for the next press.
        services.background.spawn(roles.ask_slack(services, user_id), "users.info")
        await ack(response_action="errors", errors={first_block: RECHECK})
        return
    denied = refusal(services, role)
    if denied:
        await ack(response_action="errors", errors={first_block: denied})
        return
    line = await services.lines.current(str(view.get("private_metadata") or ""))
    values = (view.get("state") or {}).get("values") or {}
    errors, changes = submitted_errors(services, line, values)
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    config = services.line_config
    for kind, text in changes.items():
        if text == templates.default_for(kind, linked=True):
            await config.reset_template(line.id, kind)
        else:
            await config.set_template(line.id, kind, text)
    services.lines.forget(line.id)
    log.info("templates saved from the editor kinds=%s", ",".join(changes) or "-")
    await ack()
