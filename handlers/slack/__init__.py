"""Slack: one aiohttp route hands requests to Bolt, and register() wires Bolt's listeners.

http.py is the route (POST /slack/events) and refuses what Bolt couldn't parse (shapes.py). The
listeners: events.py (crew replies in a caller's thread, and the retry dedupe), reactions.py and
actions.py (lead cards), opt_out_action.py, home.py (App Home), template_modal.py (the editor's
view) and commands/ (/textback). roles.py knows ahead who is an admin or a guest, so no Slack
call ever sits before an ack. Each listener takes the Services first and what Bolt injects by
name after it; register() below is the one list of them.

May import bot.flows, bot.domain, bot.lines, bot.services and bot.settings (storage through the
services' verbs); outside handlers/slack, only the app factory imports this package.
"""

from __future__ import annotations

import re
from functools import partial

from slack_bolt.async_app import AsyncApp

from bot.services import Services
from handlers.slack import (
    actions,
    commands,
    events,
    home,
    opt_out_action,
    reactions,
    template_modal,
)


def register(bolt: AsyncApp, services: Services) -> None:
    """Every Bolt middleware and listener. For each request Bolt runs the middleware, then the
    first listener, in this order, whose event type, action_id, callback_id or command matches."""
    bolt.middleware(partial(events.dedupe_retries, services))

    bolt.event("reaction_added")(partial(reactions.reaction_added, services))
    bolt.event("reaction_removed")(partial(reactions.reaction_removed, services))
    bolt.event("app_home_opened")(partial(home.app_home_opened, services))
    bolt.event("message")(partial(events.on_message, services))

    bolt.action(actions.BUTTONS)(partial(actions.lead_button, services))
    bolt.action(opt_out_action.ACTION_ID)(partial(opt_out_action.record_opt_out, services))
    bolt.view(template_modal.CALLBACK_ID)(partial(template_modal.on_submit, services))
    bolt.command(commands.COMMAND)(partial(commands.textback, services))

    # Last: it matches every event, so an event listener after it would never run. Bolt answers
    # 404 to an event no listener takes, and Slack retries a 404; this one answers 200.
    bolt.event(re.compile(".*"))(events.acknowledge_the_rest)
