"""Reactions on a lead card claim, book or close it; removing the reaction undoes that.

Only reactions on a card count (the thread parent we posted, found by threads.owner): the
bot's own ✅ on crew replies are on replies, and the bot's own user is ignored anyway.
"""

from __future__ import annotations

from typing import Any

from bot.domain.leads import Action
from bot.flows import crew_actions
from bot.services import Services
from bot.settings import Settings


def action_for(settings: Settings, emoji: str) -> Action | None:
    name = emoji.split("::", 1)[0]  # skin tones arrive as "raising_hand::skin-tone-2"
    for action, names in (
        ("claim", settings.claim_emoji),
        ("book", settings.book_emoji),
        ("close", settings.close_emoji),
    ):
        if name in names:
            return action  # type: ignore[return-value]
    return None


async def _on_reaction(
    services: Services, event: dict[str, Any], context: Any, *, added: bool
) -> None:
    item = event.get("item") or {}
    user = str(event.get("user") or "")
    action = action_for(services.settings, str(event.get("reaction") or ""))
    if action is None or item.get("type") != "message" or not user:
        return
    if user == context.get("bot_user_id"):
        return
    lead = await services.threads.owner(str(item.get("channel")), str(item.get("ts")))
    if lead is None:
        return  # a reaction on anything but a lead card
    if added:
        await crew_actions.act(services, lead, action, user)
    else:
        await crew_actions.undo(services, lead, action, user)


async def reaction_added(services: Services, event: dict[str, Any], context: Any) -> None:
    await _on_reaction(services, event, context, added=True)


async def reaction_removed(services: Services, event: dict[str, Any], context: Any) -> None:
    await _on_reaction(services, event, context, added=False)
