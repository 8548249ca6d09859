"""Who may do what from Slack: everyone but guests may look; changing settings, the exclusion
list and reading a number's consent history is for admins (ADMIN_USER_IDS, or Slack workspace
admins and owners). Roles are known ahead of the ask (handlers/slack/roles.py): no Slack call
sits before an answer.
"""

from __future__ import annotations

from bot.services import Services
from handlers.slack.roles import Role

GUESTS = (
    "Sorry, guests of this workspace can't use /textback. Ask a member of the workspace to help."
)
CHECKING = "One moment: checking with Slack what you may do here…"
COULD_NOT_ASK = "I couldn't check with Slack who you are just now. Please try again in a minute."


def refusal(services: Services, role: Role) -> str | None:
    """None when `role` may change things, else the answer that says who can."""
    if role == "admin":
        return None
    named = ", ".join(f"<@{uid}>" for uid in services.settings.admin_user_ids)
    who = (
        f"{named} (ADMIN_USER_IDS) or Slack workspace admins and owners"
        if named
        else ("Slack workspace admins and owners, or people listed in the ADMIN_USER_IDS setting")
    )
    return f"Only admins can change this: {who}. Everyone can look (`show`, `status`)."
