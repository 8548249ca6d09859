"""What `python -m bot doctor` and `python -m bot setup twilio` run, once the settings loaded.

Both use the clients `serve` uses (bot/clients.py), so they reach the services exactly as the
app does: SLACK_API_URL, TWILIO_API_URL, REDIS_URL.
"""

from __future__ import annotations

from functools import partial
from typing import TextIO
from urllib.parse import urlsplit

from twilio.base.exceptions import TwilioRestException

from bot.clients import slack_client, twilio_client
from bot.doctor import lines as line_checks
from bot.doctor import public_url, redis, slack, twilio, twilio_setup
from bot.doctor.checks import SERVICE_ERRORS, Check, Progress, run_checks
from bot.doctor.report import Finding, Section, exit_code, info, render
from bot.lines import Lines
from bot.settings import Settings
from storage import connection
from storage.health import ServiceRecords
from storage.keys import Keys
from storage.line_config import LineConfig

DEFAULT_TIMEOUT = 10.0  # seconds each service may take


def redis_where(url: str) -> str:
    """Where REDIS_URL points, without its password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix socket {parts.path}"
    kind = "Redis Cluster via " if connection.is_cluster(url) else ""
    database = parts.path.lstrip("/")
    return f"{kind}{parts.hostname}:{parts.port or 6379}" + (f" db {database}" if database else "")


async def _own_redis_note(found: list[Finding]) -> None:
    found.append(
        info(
            "server",
            "REDIS_URL is not set and nothing answers at localhost:6379: serve will start its "
            "own (data in .data/redis, append-only file on); set REDIS_URL once several "
            "processes share one",
        )
    )


async def diagnose(
    settings: Settings,
    redis_url: str | None,
    *,
    seconds: float = DEFAULT_TIMEOUT,
    progress: TextIO | None = None,
) -> list[Section]:
    """Every check at once, each for at most `seconds`, progress shown on `progress`.
    redis_url None: there is no Redis yet (serve would start its own)."""
    twilio_api, twilio_http = twilio_client(settings)
    slack_api, slack_session = slack_client(settings)
    store = connection.connect(redis_url, max_connections=8) if redis_url else None
    keys = Keys(settings.redis_key_prefix)
    records = ServiceRecords(store, keys) if store is not None else None
    lines = Lines.from_settings(settings, LineConfig(store, keys) if store is not None else None)
    checks = [
        Check(
            "Slack",
            partial(slack.check, slack_api, lines.all, api_url=settings.slack_api_url),
            "this machine's network and proxy, and SLACK_API_URL",
        ),
        Check(
            "Twilio",
            partial(
                twilio.check,
                twilio_api,
                settings.twilio_account_sid,
                lines.all,
                twilio.Wanted.under(settings.public_url),
            ),
            "this machine's network and proxy, and TWILIO_API_URL",
        ),
        Check(
            "Redis",
            partial(redis.check, store, redis_where(redis_url))
            if store is not None and redis_url
            else _own_redis_note,
            "REDIS_URL (host, port, password; rediss:// for TLS) and the firewall",
        ),
        Check(
            "PUBLIC_URL",
            partial(public_url.check, settings.public_url),
            "PUBLIC_URL and this machine's network",
        ),
        Check(
            "Lines",
            # Half the time for Redis: a hung Redis leaves time to check the configured texts.
            partial(line_checks.check, lines, records, settings.public_url, redis_wait=seconds / 2),
            "REDIS_URL",
        ),
    ]
    try:
        return await run_checks(checks, seconds, Progress(progress))
    finally:
        await slack_session.close()
        await twilio_http.close()
        if store is not None:
            await store.aclose()


async def doctor(
    settings: Settings,
    redis_url: str | None,
    *,
    seconds: float = DEFAULT_TIMEOUT,
    out: TextIO,
    progress: TextIO | None,
) -> int:
    """The report on `out`; 0 when nothing failed, 1 when something did."""
    sections = await diagnose(settings, redis_url, seconds=seconds, progress=progress)
    print(render(sections), file=out, flush=True)
    return exit_code(sections)


async def setup_twilio(
    settings: Settings, *, apply: bool, messaging_service: bool, out: TextIO
) -> int:
    client, http = twilio_client(settings)
    try:
        return await twilio_setup.setup_twilio(
            client,
            settings.twilio_account_sid,
            Lines.from_settings(settings).all,
            settings.public_url,
            out,
            apply=apply,
            messaging_service=messaging_service,
        )
    except TwilioRestException as exc:
        print(
            f"✗ Twilio answered {exc.status} (code {exc.code}) to {exc.method} {exc.uri}: "
            f"{exc.msg}. Nothing more changed; what changed is shown above.",
            file=out,
        )
        return 1
    except SERVICE_ERRORS as exc:
        print(
            f"✗ can't reach Twilio at {settings.twilio_api_url} ({type(exc).__name__}: {exc}): "
            "check this machine's network and proxy, and TWILIO_API_URL",
            file=out,
        )
        return 1
    finally:
        await http.close()
