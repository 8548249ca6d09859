"""The App Home tab: today's open leads and the settings (views.publish on app_home_opened)."""

from __future__ import annotations

from typing import Any

from bot.flows import reports
from bot.services import Services


async def app_home_opened(services: Services, event: dict[str, Any]) -> None:
    user = event.get("user")
    if event.get("tab", "home") != "home" or not isinstance(user, str) or not user:
        return  # only a user id can be published to; Slack would refuse anything else
    view = await reports.home_view(services)
    await services.slack.views_publish(user_id=user, view=view)
