"""Who is in the demo (a business, its callers, a crew of three, one channel) and the settings
that point the product at the simulators. Settings come from here alone: never the
environment or .env, which may belong to a real deployment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.settings import Settings, settings_from
from bot.simulators import SlackStandIn, TwilioStandIn

BUSINESS_NAME = "Johnson Electric"
BUSINESS_NUMBER = "+12125550100"
CREW_PHONE = "+12025550188"  # the phone a call to the business rings (FORWARD_TO)
# The caller's phone starts as the first; "new caller" moves to the next.
CALLERS = tuple(
    number for number in (f"+120255501{n:02d}" for n in range(23, 100)) if number != CREW_PHONE
)
CHANNEL_ID = "C0LEADS"
CHANNEL_NAME = "leads"
RING_SECONDS = 5  # the shortest RING_SECONDS allows: a demo call rings for a few seconds
UNDO_SECONDS = 5  # the crew reply undo window, counted down on the page
DEFAULT_ZONE = "America/New_York"


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    admin: bool = False  # a Slack workspace admin may change templates, hours, pause


CREW = (
    Member("U0MARIA", "Maria Lopez", admin=True),
    Member("U0DEV", "Dev Patel"),
    Member("U0SAM", "Sam Chen"),
)


def demo_settings(
    port: int,
    redis_url: str,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    *,
    signing_secret: str,
    data_dir: Path,
    key_prefix: str = "tb",
) -> Settings:
    return settings_from(
        host="127.0.0.1",
        port=port,
        # Twilio signs over PUBLIC_URL + path: here the simulator really reaches us there.
        public_url=f"http://127.0.0.1:{port}",
        redis_url=redis_url,
        redis_key_prefix=key_prefix,
        slack_bot_token=slack.token,
        slack_signing_secret=signing_secret,
        slack_channel_id=CHANNEL_ID,
        slack_api_url=slack.url,
        twilio_account_sid=twilio.account_sid,
        twilio_auth_token=twilio.auth_token,
        twilio_api_url=twilio.url,
        business_name=BUSINESS_NAME,
        business_timezone=local_zone(),
        # Open all day, so whoever tries it at night sees the business-hours text first.
        business_hours="Daily 00:00-24:00",
        forward_to=[CREW_PHONE],
        ring_seconds=RING_SECONDS,
        # Short enough to watch: a crew reply waits under ⏳ this long, then goes out (✅).
        reply_undo_seconds=UNDO_SECONDS,
        weekly_digest=False,
        data_dir=str(data_dir),
    )


def local_zone(localtime: Path = Path("/etc/localtime")) -> str:
    """This machine's IANA zone (from /etc/localtime's link), so card times read as local;
    New York where it can't be told."""
    try:
        target = str(localtime.resolve())
    except OSError:
        return DEFAULT_ZONE
    _, found, name = target.partition("zoneinfo/")
    if not found:
        return DEFAULT_ZONE
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return DEFAULT_ZONE
    return name
