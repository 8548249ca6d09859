"""What people do in Slack, delivered to the running app by the Slack simulator as Slack would:
signed, with its 3 s to answer, trigger ids that expire, and response URLs it serves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from bot.simulators.slack_delivery import EventDelivery
from tests.conftest import CHANNEL, SIGNING_SECRET, Harness
from tests.waiting import wait_until


def deliveries_on(harness: Harness) -> None:
    """The simulator delivers to the harness's app from now on."""
    harness.slack.deliver_to(str(harness.client.make_url("")).rstrip("/"), SIGNING_SECRET)


@dataclass
class Typed:
    """A slash command as Slack delivered it, and what the app answered."""

    harness: Harness
    delivery: EventDelivery
    response_url: str

    @property
    def ack(self) -> str:
        """The text of the ack (Slack shows it to the person, only them)."""
        return self.delivery.text

    def responses(self) -> list[str]:
        hook = self.harness.slack.events.response_urls[self.response_url]
        return [str(post.get("text", "")) for post in hook.posts]

    async def response(self, containing: str = "", timeout: float = 10) -> str:
        """The first answer posted to the command's response_url that contains `containing`."""

        def found() -> str | None:
            return next((text for text in self.responses() if containing in text), None)

        answer: str = await wait_until(
            found, timeout=timeout, message=f"no answer with {containing!r}: {self.responses()}"
        )
        return answer


async def typed(harness: Harness, user: str, text: str, channel: str = CHANNEL) -> Typed:
    """`user` types `/textback <text>` in `channel`."""
    deliveries_on(harness)
    delivery = await harness.slack.people.run_command(user, "/textback", text, channel=channel)
    form: dict[str, Any] = dict(parse_qsl(delivery.body.decode()))
    return Typed(harness, delivery, form["response_url"])
