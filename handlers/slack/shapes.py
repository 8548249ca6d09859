"""Is a Slack body shaped like something Slack sends? Pure, no I/O.

Bolt's own middleware and our listeners reach into nested objects (body["event"]["item"],
body["view"]["state"]["values"], body["actions"][0]) assuming Slack's shapes; a signed body with
a string where an object belongs would raise there, and a 500 makes Slack retry forever. So a body
is checked once, before dispatch, and a wrong shape answers 400 with what was wrong.
"""

from __future__ import annotations

from typing import Any

INTERACTIVE = frozenset(
    {
        "block_actions",
        "block_suggestion",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
        "interactive_message",
        "dialog_submission",
    }
)
# Objects wherever they appear at the top of an interactive payload.
_INTERACTIVE_OBJECTS = ("user", "team", "channel", "container", "message", "view", "enterprise")
# Outside an Enterprise Grid org Slack sends "enterprise": null (Bolt reads it as no org).
_MAY_BE_NULL = ("enterprise",)
# Objects inside an event, when present (reactions' item, message_changed's message).
_EVENT_OBJECTS = ("item", "message", "previous_message", "view", "files_info")


def problem(body: Any) -> str | None:
    """What is wrong with the body's shape, or None when it is fine to dispatch."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    kind = body.get("type")
    if kind is not None and not isinstance(kind, str):
        return "type is not a string"
    if kind == "event_callback" or "event" in body:
        return _event_problem(body.get("event"))
    if kind in INTERACTIVE:
        return _interactive_problem(kind, body)
    return None


def _event_problem(event: Any) -> str | None:
    if not isinstance(event, dict):
        return "event is not an object"
    if not isinstance(event.get("type"), str):
        return "event.type is not a string"
    for name in _EVENT_OBJECTS:
        if name in event and name != "files_info" and not isinstance(event[name], dict):
            return f"event.{name} is not an object"
    return None


def _interactive_problem(kind: str, body: dict[str, Any]) -> str | None:
    for name in _INTERACTIVE_OBJECTS:
        if name in _MAY_BE_NULL and body.get(name) is None:
            continue
        if name in body and not isinstance(body[name], dict):
            return f"{name} is not an object"
    actions = body.get("actions", [])
    if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
        return "actions is not a list of objects"
    if kind == "block_actions" and not actions:
        return "block_actions without actions"
    if kind in ("view_submission", "view_closed"):
        return _view_problem(body.get("view"))
    return None


def _view_problem(view: Any) -> str | None:
    if not isinstance(view, dict) or not isinstance(view.get("type"), str):
        return "view is not an object with a type"
    state = view.get("state", {})
    if not isinstance(state, dict):
        return "view.state is not an object"
    values = state.get("values", {})
    if not isinstance(values, dict) or not all(
        isinstance(block, dict) and all(isinstance(v, dict) for v in block.values())
        for block in values.values()
    ):
        return "view.state.values is not an object of objects"
    return None
