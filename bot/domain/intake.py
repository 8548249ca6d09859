"""The intake form's rules: tokens, the anti-CSRF field, validation, and the card it posts.

Pure apart from drawing random tokens. The page itself is bot/intake_page.py; the route is
handlers/intake.py; the steps with I/O are in bot/consent_flows.py.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

from bot.domain import slack_text

TOKEN_BYTES = 9  # 12 URL-safe characters, 72 random bits: keeps the auto-text in one segment
NONCE_BYTES = 12
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

# Field name -> (label, longest accepted). The body as a whole is capped in the handler.
LIMITS = {"name": 100, "need": 2000, "address": 300, "best_time": 100}
LABELS = {
    "name": "Name",
    "need": "What do you need?",
    "address": "Address or area",
    "best_time": "Best time to reach you",
}


@dataclass(frozen=True)
class IntakeLink:
    token: str
    phone: str
    line: str
    lead_id: str
    expires_at: float
    submissions: int


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def new_nonce() -> str:
    return secrets.token_urlsafe(NONCE_BYTES)


def plausible_token(token: str) -> bool:
    """Cheap shape check before touching Redis."""
    return bool(_TOKEN.match(token))


def secret_key(intake_secret: str | None, slack_signing_secret: str) -> bytes:
    """INTAKE_SECRET, or a key derived from the Slack signing secret (never the secret itself)."""
    if intake_secret:
        return intake_secret.encode()
    return hmac.new(slack_signing_secret.encode(), b"textback intake form v1", "sha256").digest()


def csrf_field(key: bytes, token: str, nonce: str) -> str:
    """Ties one page load (nonce) to one intake link (token): a forged post from elsewhere has
    neither a valid pair nor a way to make one."""
    return hmac.new(key, f"{token}:{nonce}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(key: bytes, token: str, nonce: str, given: str) -> bool:
    if not nonce or not given or len(nonce) > 64:
        return False
    return hmac.compare_digest(csrf_field(key, token, nonce), given)


@dataclass(frozen=True)
class IntakeForm:
    name: str = ""
    need: str = ""
    address: str = ""
    best_time: str = ""
    consent: bool = False

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> IntakeForm:
        def value(name: str) -> str:
            # Normalise newlines; keep everything else as typed (it is shown back if invalid).
            return fields.get(name, "").replace("\r\n", "\n").replace("\r", "\n").strip()

        return cls(
            name=value("name"),
            need=value("need"),
            address=value("address"),
            best_time=value("best_time"),
            consent=fields.get("consent") == "yes",
        )

    def values(self) -> dict[str, str]:
        return {
            "name": self.name,
            "need": self.need,
            "address": self.address,
            "best_time": self.best_time,
        }


@dataclass(frozen=True)
class Problems:
    general: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.general or self.fields)


def validate(form: IntakeForm) -> Problems:
    found: dict[str, str] = {}
    if not form.need:
        found["need"] = "Please tell us what you need."
    for name, value in form.values().items():
        limit = LIMITS[name]
        if len(value) > limit:
            found[name] = f"Please keep this under {limit} characters (it has {len(value)})."
        elif any(ord(c) < 32 and c not in "\n\t" for c in value):
            found[name] = "This has characters we can't accept; please retype it."
    return Problems(fields=found)


def card_text(form: IntakeForm) -> str:
    """The request as the crew sees it in the caller's thread. Every value is caller text:
    escaped, so it cannot ping @channel or forge a link."""

    def shown(value: str) -> str:
        shown = slack_text.inline(value, limit=len(value)) if value else ""
        return shown or "_(not given)_"

    need = slack_text.quote(form.need)
    return "\n".join(
        [
            ":clipboard: *Intake form*",
            f"*Name:* {shown(form.name)}",
            f"*Needs:*\n{need}",
            f"*Address / area:* {shown(form.address)}",
            f"*Best time:* {shown(form.best_time)}",
            "*Consent to texts:* "
            + ("yes (ticked the disclosure)" if form.consent else "no (did not tick)"),
        ]
    )
