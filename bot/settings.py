"""All configuration, read once from the environment or a .env file.

Nothing else in the code base reads os.environ: build a Settings and pass it down.
"""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain import webhooks
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

    slack_bot_token: SecretStr
    slack_signing_secret: SecretStr
    slack_channel_id: str
    slack_api_url: str = "https://slack.com/api/"

    twilio_account_sid: str
    twilio_auth_token: SecretStr
    twilio_api_url: str = "https://api.twilio.com"

    business_name: str = Field(min_length=1, max_length=60)
    business_timezone: str = "America/New_York"
    business_hours: str = "Mon-Fri 08:00-17:00"
    forward_to: Annotated[list[str], NoDecode] = []
    ring_seconds: int = Field(18, ge=5, le=60)
    screen_calls: bool = True
    textback_window_hours: float = Field(24, gt=0)
    intake_url: str | None = None
    lead_thread_days: float = Field(14, gt=0)
    # Our intake page (PUBLIC_URL/i/<token>), linked from the auto-text when INTAKE_URL is unset.
    intake_link_days: float = Field(7, gt=0)
    intake_max_submissions: int = Field(5, ge=1, le=100)
    # Signs the intake form's anti-CSRF field; unset: derived from SLACK_SIGNING_SECRET.
    intake_secret: SecretStr | None = None
    # Who confirms a STOP: Twilio's built-in opt-out handling (the default on long codes) or us.
    opt_out_confirmation: Literal["twilio", "app"] = "twilio"
    # Slack user ids who may change templates, hours, window and pause (besides workspace admins).
    admin_user_ids: Annotated[list[str], NoDecode] = []

    # Lead cards: minutes a caller's text may wait for a human (business time) before a reminder,
    # the reactions that claim/book/close a card (comma-separated names), the Monday digest.
    reply_sla_minutes: float = Field(10, gt=0)
    claim_emoji: Annotated[list[str], NoDecode] = ["raising_hand", "eyes"]
    book_emoji: Annotated[list[str], NoDecode] = ["white_check_mark"]
    close_emoji: Annotated[list[str], NoDecode] = ["x"]
    weekly_digest: bool = True
    slack_updates_per_second: float = Field(0.8, gt=0)  # chat.update is Tier 3 (50+/min)
    # A new lead's card waits this long for its auto-text's outcome, then posts anyway (0: at once).
    card_waits_for_text_seconds: float = Field(3.0, ge=0, le=60)

    # Outbound webhooks (Standard Webhooks v1): receivers of every line's events, comma-separated
    # (a line may name its own; bot/lines.py), and the secret that signs them (whsec_...).
    webhook_urls: Annotated[list[str], NoDecode] = []
    webhook_secret: SecretStr | None = Field(None, validate_default=True)
    webhook_timeout_seconds: float = Field(webhooks.TIMEOUT_SECONDS, gt=0, le=60)

    run_worker: bool = True
    worker_concurrency: int = Field(8, ge=1, le=256)
    # How long a worker's read waits for new jobs; also how long a clean shutdown may wait for it.
    worker_read_block_ms: int = Field(500, ge=10, le=5_000)
    # A job unacknowledged this long belonged to a worker that died: another takes it over.
    worker_reclaim_seconds: float = Field(30, ge=1, le=3_600)
    slack_posts_per_second: float = Field(1.0, gt=0)
    log_level: str = "INFO"
    data_dir: str = ".data"

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

    @field_validator("claim_emoji", "book_emoji", "close_emoji", mode="before")
    @classmethod
    def _split_emoji(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().strip(":") for part in value.split(",") if part.strip()]
        return value

    @field_validator("forward_to", mode="before")
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
