"""All configuration, read once from the environment or a .env file.

Nothing else in the code base reads os.environ: build a Settings and pass it down.
"""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot.domain import webhooks
from bot.domain.client_address import InvalidProxy, networks
from bot.domain.hours import BusinessHours, HoursError
from bot.domain.phone import InvalidNumber, to_e164

# Where a new user finds each required value; shown when one is missing.
WHERE_TO_GET = {
    "SLACK_BOT_TOKEN": "Slack app > OAuth & Permissions > Bot User OAuth Token (xoxb-...)",
    "SLACK_SIGNING_SECRET": "Slack app > Basic Information > App Credentials > Signing Secret",
    "SLACK_CHANNEL_ID": "leads channel in Slack > channel name > About > Channel ID (C...)",
    "TWILIO_ACCOUNT_SID": "Twilio Console > Account Info > Account SID (AC...)",
    "TWILIO_AUTH_TOKEN": "Twilio Console > Account Info > Auth Token",
    "PUBLIC_URL": "the https address Slack and Twilio reach this server at (e.g. https://tb.example.com)",
    "BUSINESS_NAME": "your business name as callers know it, e.g. Johnson Electric",
    "LINES_FILE": "a TOML file of [[line]] tables (see lines.example.toml)",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    port: int = Field(3000, ge=1, le=65535)
    host: str = "0.0.0.0"
    public_url: str
    # One server: redis://, rediss:// (TLS), unix://. A Redis Cluster: redis+cluster://host:port
    # or rediss+cluster://, naming any node (bot/redis_client.py).
    redis_url: str | None = None
    redis_key_prefix: str = "tb"
    redis_max_connections: int = Field(64, ge=4, le=10_000)

    # Several numbers and locations: a TOML file of [[line]] tables (bot/lines.py). Declared
    # before BUSINESS_NAME and SLACK_CHANNEL_ID, which it makes optional.
    lines_file: str | None = None

    slack_bot_token: SecretStr
    slack_signing_secret: SecretStr
    slack_channel_id: str | None = Field(None, validate_default=True)
    slack_api_url: str = "https://slack.com/api/"

    twilio_account_sid: str
    twilio_auth_token: SecretStr
    twilio_api_url: str = "https://api.twilio.com"
    # The environment's line's own Twilio numbers (comma-separated). Optional: that line still
    # answers any number Twilio sends; `doctor` and `setup twilio` check and configure these.
    twilio_numbers: Annotated[list[str], NoDecode] = []

    business_name: str | None = Field(None, min_length=1, max_length=60, validate_default=True)
    business_timezone: str = "America/New_York"
    business_hours: str = "Mon-Fri 08:00-17:00"
    forward_to: Annotated[list[str], NoDecode] = []
    ring_seconds: int = Field(18, ge=5, le=60)
    screen_calls: bool = True
    # A missed caller may leave a message; it lands in their thread as audio and a transcript.
    voicemail: bool = False
    # Ask Twilio Lookup (paid per lookup) whether a caller is on a landline as the call comes in;
    # a landline caller hears "we'll call you back shortly" and gets no text.
    lookup_line_type: bool = False
    textback_window_hours: float = Field(24, gt=0)
    intake_url: str | None = None
    # The first text's link: "page" (our intake page), "url" (INTAKE_URL) or "off" (none).
    # Unset: "url" when INTAKE_URL is set, else "page".
    intake_link: Literal["page", "url", "off"] | None = None
    lead_thread_days: float = Field(14, gt=0)
    # Our intake page (PUBLIC_URL/i/<token>), linked from the auto-text when INTAKE_URL is unset.
    intake_link_days: float = Field(7, gt=0)
    intake_max_submissions: int = Field(5, ge=1, le=100)
    # Forms accepted per client address per hour, whatever link they use.
    intake_max_per_address: int = Field(10, ge=1, le=10_000)
    # Proxies whose X-Forwarded-For says who the client is (IPs or networks, comma-separated);
    # from anyone else the socket's address counts.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    # Signs the intake form's anti-CSRF field; unset: derived from SLACK_SIGNING_SECRET.
    intake_secret: SecretStr | None = None
    # Who answers STOP/START/HELP: Twilio's built-in handling (the default on long codes) or us.
    opt_out_confirmation: Literal["twilio", "app"] = "twilio"
    # A crew reply is texted this long after it was written: delete it to cancel, edit it to
    # change the words (0: at once).
    reply_undo_seconds: float = Field(10, ge=0, le=300)
    # Slack user ids who may change templates, hours, window and pause (besides workspace admins).
    admin_user_ids: Annotated[list[str], NoDecode] = []

    # Lead cards: minutes a caller's text may wait for a human (business time) before a reminder,
    # the reactions that claim/book/close a card (comma-separated names), the Monday digest.
    reply_sla_minutes: float = Field(10, gt=0)
    # The second reminder also notifies everyone in the channel (@channel), not only the person
    # on call or the claimer.
    reminder_escalate: bool = True
    claim_emoji: Annotated[list[str], NoDecode] = ["raising_hand", "eyes"]
    book_emoji: Annotated[list[str], NoDecode] = ["white_check_mark"]
    close_emoji: Annotated[list[str], NoDecode] = ["x"]
    weekly_digest: bool = True
    slack_updates_per_second: float = Field(0.8, gt=0)  # chat.update is Tier 3 (50+/min)
    # A new lead's card waits this long for its auto-text's outcome, then posts anyway (0: at once).
    card_waits_for_text_seconds: float = Field(3.0, ge=0, le=60)

    # The owner's mobile: one text when Slack refuses our posts (and one when it takes them
    # again). Unset: the log says so at ERROR every minute instead.
    alert_phone: str | None = None
    # While Slack refuses our posts (a revoked token, the bot out of a channel): how often one
    # worker asks Slack whether it works again.
    slack_recheck_seconds: float = Field(60, ge=1, le=3_600)

    # /metrics: on the public port only with a bearer token; or on a listener of its own
    # (METRICS_PORT, on METRICS_HOST). Without either it is off: nothing to read for strangers.
    metrics_token: SecretStr | None = None
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(None, ge=1, le=65535)

    # Outbound webhooks (Standard Webhooks v1): receivers of every line's events, comma-separated
    # (a line may name its own; bot/lines.py), and the secret that signs them (whsec_...).
    webhook_urls: Annotated[list[str], NoDecode] = []
    webhook_secret: SecretStr | None = Field(None, validate_default=True)
    webhook_timeout_seconds: float = Field(webhooks.TIMEOUT_SECONDS, gt=0, le=60)

    run_worker: bool = True
    # Jobs in flight per queue per worker: they mostly wait on Slack or Twilio, so many are cheap
    # (README, Scaling); fewer for a while when Twilio answers 20429 (bot/outbox/limits.py).
    worker_concurrency: int = Field(100, ge=1, le=1_000)
    # How long a worker's read waits for new jobs. A job queued wakes it at once, and a shutdown
    # ends it, so a long wait costs nothing but keeps an idle worker quiet (one read per queue).
    worker_read_block_ms: int = Field(10_000, ge=10, le=60_000)
    # The longest a worker's maintenance loop sleeps: a job another process scheduled for later
    # (a retry, a crew reply's undo window) is queued at most this late. Its own it wakes for.
    worker_idle_seconds: float = Field(1.0, ge=0.05, le=60)
    # A job unacknowledged this long belonged to a worker that died: another takes it over.
    worker_reclaim_seconds: float = Field(30, ge=1, le=3_600)
    slack_posts_per_second: float = Field(1.0, gt=0)
    log_level: str = "INFO"
    data_dir: str = ".data"

    @field_validator("business_name", "slack_channel_id")
    @classmethod
    def _needed_without_lines_file(cls, value: str | None, info: ValidationInfo) -> str | None:
        """The environment's line needs both, unless LINES_FILE defines the lines (then, set,
        they make the environment's line the catch-all for numbers no [[line]] lists)."""
        if value is None and not info.data.get("lines_file"):
            raise PydanticCustomError("missing", "Field required")
        return value

    @field_validator("intake_link")
    @classmethod
    def _link_to_give(cls, value: str | None, info: ValidationInfo) -> str | None:
        """url needs the URL (with LINES_FILE, each line may bring its own: lines.py checks)."""
        if value == "url" and not info.data.get("intake_url") and not info.data.get("lines_file"):
            raise ValueError('"url" needs INTAKE_URL, the link to put in the first text')
        return value

    @field_validator("public_url", "slack_api_url", "twilio_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        # The message never repeats the URL: it may hold a password.
        schemes = ("redis://", "rediss://", "unix://", "redis+cluster://", "rediss+cluster://")
        if value is not None and not value.lower().startswith(schemes):
            raise ValueError("must start with " + ", ".join(schemes))
        return value

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("business_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("business_hours")
    @classmethod
    def _parsable_hours(cls, value: str) -> str:
        try:
            BusinessHours.parse(value)
        except HoursError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            try:
                networks(tuple(str(part) for part in value))
            except InvalidProxy as exc:
                raise ValueError(str(exc)) from exc
        return value

    @field_validator("claim_emoji", "book_emoji", "close_emoji", mode="before")
    @classmethod
    def _split_emoji(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().strip(":") for part in value.split(",") if part.strip()]
        return value

    @field_validator("alert_phone", mode="before")
    @classmethod
    def _one_number(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                return to_e164(value)
            except InvalidNumber as exc:
                raise ValueError(str(exc)) from exc
        return value

    @field_validator("forward_to", "twilio_numbers", mode="before")
    @classmethod
    def _split_numbers(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            try:
                return [to_e164(str(part)) for part in value]
            except InvalidNumber as exc:
                raise ValueError(str(exc)) from exc
        return value

    @field_validator("forward_to")
    @classmethod
    def _not_our_own_number(cls, value: list[str], info: ValidationInfo) -> list[str]:
        """Ringing one of the line's own numbers would send the call back to us: a loop."""
        own = set(info.data.get("twilio_numbers") or ())
        looping = [number for number in value if number in own]
        if looping:
            raise ValueError(f"{', '.join(looping)} is also in TWILIO_NUMBERS (a call would loop)")
        return value

    @field_validator("webhook_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            checked = []
            for position, url in enumerate(value, start=1):
                try:
                    checked.append(webhooks.check_url(str(url)))
                except ValueError as exc:
                    # Which one by position: the URL itself may be a secret.
                    raise ValueError(f"URL {position}: {exc}") from None
            return list(dict.fromkeys(checked))
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _signing_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            if info.data.get("webhook_urls"):
                raise ValueError(
                    "required with WEBHOOK_URLS (make one: python -m bot webhook secret)"
                )
            return None
        webhooks.secret_key(value.get_secret_value())  # ValueError says what is wrong
        return value

    @property
    def webhook_key(self) -> bytes | None:
        """The HMAC key that signs webhooks (validated above)."""
        if self.webhook_secret is None:
            return None
        return webhooks.secret_key(self.webhook_secret.get_secret_value())

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.business_timezone)

    @property
    def hours(self) -> BusinessHours:
        return BusinessHours.parse(self.business_hours)


class SettingsError(Exception):
    """Every missing or invalid setting, in one message a person can act on."""


class _GivenValuesOnly(Settings):
    """Settings that read neither the environment nor .env: only what the caller passes."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def settings_from(**values: object) -> Settings:
    """Settings from `values` alone, whatever the environment and .env say: the demo's, which
    must never pick up a real deployment's REDIS_URL, tokens or numbers."""
    try:
        return _GivenValuesOnly(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(describe_errors(exc)) from None


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(describe_errors(exc)) from None


def describe_errors(exc: ValidationError) -> str:
    lines = ["textback cannot start; fix these settings (environment or .env):"]
    for error in exc.errors():
        name = str(error["loc"][0]).upper() if error["loc"] else "?"
        if error["type"] == "missing":
            hint = WHERE_TO_GET.get(name, "required")
            lines.append(f"  {name} is missing: {hint}")
        else:
            # The input is never echoed: it may be a secret.
            lines.append(f"  {name} is invalid: {error['msg']}")
    return "\n".join(lines)
