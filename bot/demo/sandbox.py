"""Everything the demo runs inside one event loop, started in order and stopped in reverse:
the Slack and Twilio simulators, then the real app (create_app, with its worker) listening on
127.0.0.1 with the demo's routes mounted at /demo, then the simulators' deliveries to it.

Stopping: the calls in progress hang up, the app stops (requests in flight answered, the
worker's jobs finished against simulators still listening, every session closed), then the
simulators close (their pending callbacks cancelled). Redis is the caller's to start and stop.
"""

from __future__ import annotations

import errno
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from bot.app import create_app
from bot.demo import config, photo
from bot.demo.channel import Channel
from bot.demo.phone import Phone
from bot.demo.routes import Sides, demo_app
from bot.settings import Settings
from bot.simulators import SlackStandIn, TwilioStandIn


class PortInUse(Exception):
    """Something else listens on the demo's port."""


@dataclass
class Sandbox:
    url: str  # http://127.0.0.1:PORT
    settings: Settings
    slack: SlackStandIn
    twilio: TwilioStandIn
    sides: Sides

    @property
    def page(self) -> str:
        return f"{self.url}/demo"


def simulators() -> tuple[SlackStandIn, TwilioStandIn]:
    """The workspace and the Twilio account as the demo's crew and business have them."""
    slack = SlackStandIn(token="xoxb-demo-" + secrets.token_hex(12))
    for member in config.CREW:
        slack.add_user(member.id, member.name, is_admin=member.admin)
    slack.add_channel(config.CHANNEL_ID, config.CHANNEL_NAME)
    twilio = TwilioStandIn(auth_token=secrets.token_hex(16))
    twilio.voice.real_time = True  # the crew's phone rings for RING_SECONDS, as on a real line
    twilio.numbers.add(config.BUSINESS_NUMBER, friendly_name=config.BUSINESS_NAME)
    return slack, twilio


@asynccontextmanager
async def running(
    port: int, redis_url: str, data_dir: Path, *, key_prefix: str = "tb"
) -> AsyncIterator[Sandbox]:
    slack, twilio = simulators()
    await slack.start()
    try:
        await twilio.start()
        secret = secrets.token_hex(16)
        settings = config.demo_settings(
            port,
            redis_url,
            slack,
            twilio,
            signing_secret=secret,
            data_dir=data_dir,
            key_prefix=key_prefix,
        )
        phone = Phone(
            twilio, config.BUSINESS_NUMBER, config.CREW_PHONE, config.CALLERS, photo.png()
        )
        sides = Sides(phone, Channel(slack, config.CHANNEL_ID, config.CREW), settings)
        app = create_app(settings, run_worker=True)
        app.add_subapp("/demo", demo_app(sides))
        url = settings.public_url
        # No access log: the page polls /demo/state several times a second.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        try:
            await _listen(runner, port)
            twilio.deliver_to(url, settings.public_url)
            slack.deliver_to(url, secret)
            yield Sandbox(url, settings, slack, twilio, sides)
        finally:
            await sides.hang_up()
            await runner.cleanup()
    finally:
        await twilio.close()
        await slack.close()


async def _listen(runner: web.AppRunner, port: int) -> None:
    site = web.TCPSite(runner, "127.0.0.1", port)
    try:
        await site.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"port {port} is already in use") from None
        raise
