"""Twilio: the credentials work, each line's numbers belong to the account and send their calls
and texts here, and no crew phone is one of our own numbers.

Where Twilio sends a call or a text (shared/PLATFORM.md): the number's VoiceUrl and SmsUrl,
unless something overrides them: a TwiML App (VoiceApplicationSid, SmsApplicationSid), a SIP
trunk (TrunkSid), or for texts a Messaging Service holding the number, whose inbound request
URL wins unless it defers to the number's own webhook (use_inbound_webhook_on_number); a service
with neither drops the texts. Which service holds a number only the Messaging Services API says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client as TwilioClient

from bot.doctor.report import Finding, Mark, fail, info, ok, warn
from bot.domain.line import Line

SETUP = "python -m bot setup twilio --apply"
SETUP_SERVICE = "python -m bot setup twilio --messaging-service --apply"
NUMBERS_PAGE = "Console > Phone Numbers > Manage > Active numbers"
CREDENTIALS = "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN from Console > Account Info"


@dataclass(frozen=True)
class Wanted:
    """Where a line's number should send its calls, texts and call status."""

    voice_url: str
    sms_url: str
    status_callback: str
    method: str = "POST"

    @classmethod
    def under(cls, public_url: str) -> Wanted:
        base = public_url.rstrip("/")
        return cls(f"{base}/twilio/voice", f"{base}/twilio/sms", f"{base}/twilio/voice/status")


@dataclass(frozen=True)
class NumberConfig:
    """An IncomingPhoneNumber, as far as routing goes."""

    sid: str
    phone_number: str
    voice_url: str = ""
    voice_method: str = "POST"
    sms_url: str = ""
    sms_method: str = "POST"
    status_callback: str = ""
    status_callback_method: str = "POST"
    voice_application_sid: str = ""
    sms_application_sid: str = ""
    trunk_sid: str = ""
    voice: bool = True
    sms: bool = True

    @classmethod
    def from_api(cls, number: Any) -> NumberConfig:
        capabilities = {str(k).lower(): bool(v) for k, v in dict(number.capabilities or {}).items()}
        return cls(
            sid=str(number.sid),
            phone_number=str(number.phone_number),
            voice_url=number.voice_url or "",
            voice_method=(number.voice_method or "POST").upper(),
            sms_url=number.sms_url or "",
            sms_method=(number.sms_method or "POST").upper(),
            status_callback=number.status_callback or "",
            status_callback_method=(number.status_callback_method or "POST").upper(),
            voice_application_sid=number.voice_application_sid or "",
            sms_application_sid=number.sms_application_sid or "",
            trunk_sid=number.trunk_sid or "",
            voice=capabilities.get("voice", False),
            sms=capabilities.get("sms", False),
        )


@dataclass(frozen=True)
class ServiceConfig:
    """A Messaging Service: its inbound webhook and the numbers it holds."""

    sid: str
    friendly_name: str
    inbound_request_url: str
    defers: bool  # use_inbound_webhook_on_number: the number's own SmsUrl wins
    phone_numbers: tuple[str, ...]

    @property
    def overrides(self) -> bool:
        return not self.defers

    def label(self) -> str:
        return f'Messaging Service "{self.friendly_name}" ({self.sid})'


# ---- pure: comparing and judging ----------------------------------------------------------


def same_url(current: str, wanted: str) -> bool:
    """Equal as Twilio would request them: scheme and host in any case, a default port, a
    trailing slash, and a fragment (Twilio's connection overrides, #rc=..&rt=..) don't matter."""
    if not current:
        return False

    def key(url: str) -> tuple[str, str, str, str]:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        default = {"https": 443, "http": 80}.get(scheme)
        try:
            port = parts.port
        except ValueError:
            port = None
        netloc = (parts.hostname or "") + (f":{port}" if port and port != default else "")
        return scheme, netloc, parts.path.rstrip("/") or "/", parts.query

    return key(current) == key(wanted)


def account_findings(status: str, kind: str, name: str, sid: str) -> list[Finding]:
    if status != "active":
        return [
            fail(
                "account",
                f'{sid} "{name}" is {status}: Twilio takes no calls or texts for it',
                "Console > Account: settle the account's status with Twilio",
            )
        ]
    found = [ok("account", f'{sid} "{name}" is active; the credentials work')]
    if kind.lower() == "trial":
        found.append(
            warn(
                "account type",
                "a trial account: it texts only verified numbers, and every text starts with "
                '"Sent from your Twilio trial account"',
                "upgrade the account: Console > Billing",
            )
        )
    return found


def credentials_finding(exc: TwilioRestException) -> Finding:
    if exc.status in (401, 403):
        return fail("account", f"Twilio refuses the credentials ({exc.status})", CREDENTIALS)
    return fail("account", f"Twilio answered {exc.status} (code {exc.code})", CREDENTIALS)


def describe(url: str, method: str) -> str:
    return f"{url} ({method})" if url else "no URL"


def voice_finding(subject: str, number: NumberConfig, want: Wanted) -> Finding:
    page = f"{NUMBERS_PAGE} > {number.phone_number} > Voice Configuration"
    if not number.voice:
        return fail(
            subject,
            "the number can't take calls (no Voice capability)",
            "use a number with Voice and SMS (Console > Phone Numbers > Buy a number)",
        )
    if number.trunk_sid:
        return fail(
            subject,
            f"calls go to SIP trunk {number.trunk_sid}, not here",
            f"take the number off the trunk (Elastic SIP Trunking > Trunks > "
            f"{number.trunk_sid} > Numbers), then run {SETUP}",
        )
    if number.voice_application_sid:
        return fail(
            subject,
            f"calls go to TwiML App {number.voice_application_sid}, not here",
            f'{page}: configure with "Webhook" instead of the TwiML App (the app may serve '
            f"other numbers, so setup leaves it alone), then run {SETUP}",
        )
    if not same_url(number.voice_url, want.voice_url) or number.voice_method != want.method:
        return fail(
            subject,
            f"calls go to {describe(number.voice_url, number.voice_method)}",
            f"run {SETUP} (or {page} > A call comes in: Webhook, {want.voice_url}, HTTP POST)",
        )
    if (
        not same_url(number.status_callback, want.status_callback)
        or number.status_callback_method != want.method
    ):
        return warn(
            subject,
            f"calls come here; the call status callback is "
            f"{describe(number.status_callback, number.status_callback_method)}",
            f"run {SETUP} (it sets {want.status_callback}, POST)",
        )
    return ok(subject, f"→ {want.voice_url} (POST), status callback set")


def sms_finding(
    subject: str, number: NumberConfig, service: ServiceConfig | None, want: Wanted
) -> Finding:
    page = f"{NUMBERS_PAGE} > {number.phone_number} > Messaging Configuration"
    if not number.sms:
        return fail(
            subject,
            "the number can't take texts (no SMS capability)",
            "use a number with Voice and SMS (Console > Phone Numbers > Buy a number)",
        )
    if service is not None and service.overrides:
        others = [n for n in service.phone_numbers if n != number.phone_number]
        also = f"; the service also holds {', '.join(others)}" if others else ""
        where = (
            f"sends them to {service.inbound_request_url}"
            if service.inbound_request_url
            else "drops them (no inbound URL, and it doesn't defer to the number's)"
        )
        return fail(
            subject,
            f"{service.label()} {where}{also}",
            f"Console > Messaging > Services > {service.friendly_name} > Integration: "
            f'"Defer to sender\'s webhook", or run {SETUP_SERVICE}',
        )
    if number.sms_application_sid:
        return fail(
            subject,
            f"texts go to TwiML App {number.sms_application_sid}, not here",
            f'{page}: configure with "Webhook" instead of the TwiML App (the app may serve '
            f"other numbers, so setup leaves it alone), then run {SETUP}",
        )
    if not same_url(number.sms_url, want.sms_url) or number.sms_method != want.method:
        return fail(
            subject,
            f"texts go to {describe(number.sms_url, number.sms_method)}",
            f"run {SETUP} (or {page} > A message comes in: Webhook, {want.sms_url}, HTTP POST)",
        )
    deferring = f" ({service.label()} defers to it)" if service is not None else ""
    return ok(subject, f"→ {want.sms_url} (POST){deferring}")


def unconfigured_findings(
    numbers: Sequence[NumberConfig], services: Mapping[str, ServiceConfig], want: Wanted
) -> list[Finding]:
    """No line names its numbers: list the account's, and which of them send everything here."""
    if not numbers:
        return [
            fail(
                "numbers",
                "the account has no phone numbers",
                "buy one with Voice and SMS (Console > Phone Numbers > Buy a number), put it "
                f"in TWILIO_NUMBERS and run {SETUP}",
            )
        ]
    found: list[Finding] = []
    here: list[str] = []
    for number in numbers:
        service = services.get(number.phone_number)
        voice = voice_finding("calls", number, want)
        sms = sms_finding("texts", number, service, want)
        if voice.mark is not Mark.FAIL and sms.mark is not Mark.FAIL:
            here.append(number.phone_number)
            found.append(info(number.phone_number, "calls and texts come here"))
        else:
            found.append(info(number.phone_number, f"calls: {voice.found}; texts: {sms.found}"))
    if here:
        found.append(
            warn(
                "TWILIO_NUMBERS",
                "not set, nor numbers in LINES_FILE: checked the account's numbers instead",
                f"set TWILIO_NUMBERS={','.join(here)} so doctor and setup check exactly those",
            )
        )
    else:
        found.append(
            fail(
                "TWILIO_NUMBERS",
                "not set, and no number of the account sends its calls and texts here",
                f"set TWILIO_NUMBERS to the business's number(s) and run {SETUP}",
            )
        )
    return found


def forward_findings(lines: Sequence[Line], ours: Iterable[str]) -> list[Finding]:
    """Each crew phone is not one of our numbers (any line's, or the account's)."""
    own = set(ours) | {number for line in lines for number in line.numbers}
    found: list[Finding] = []
    for line in lines:
        subject = f"crew phones (line {line.id})" if len(lines) > 1 else "crew phones"
        looping = [number for number in line.forward_to if number in own]
        if looping:
            found.append(
                fail(
                    subject,
                    f"{', '.join(looping)} is one of our own Twilio numbers: a call would ring "
                    "itself in a loop",
                    "ring the crew's own phones: FORWARD_TO, or forward_to in LINES_FILE",
                )
            )
        elif line.forward_to:
            found.append(ok(subject, f"{', '.join(line.forward_to)}, none of them ours"))
        else:
            found.append(info(subject, "none: every call is missed at once and texted back"))
    return found


# ---- I/O: what the account holds ------------------------------------------------------------


async def find_number(client: TwilioClient, phone_number: str) -> NumberConfig | None:
    """The account's number, or None. PhoneNumber= matches partial numbers: keep the exact."""
    listed = await client.incoming_phone_numbers.list_async(phone_number=phone_number)
    exact = [NumberConfig.from_api(n) for n in listed if n.phone_number == phone_number]
    return exact[0] if exact else None


async def all_numbers(client: TwilioClient) -> list[NumberConfig]:
    return [NumberConfig.from_api(n) for n in await client.incoming_phone_numbers.list_async()]


async def services(client: TwilioClient) -> dict[str, ServiceConfig]:
    """phone number -> the Messaging Service holding it (a number is in one at most)."""
    listed = await client.messaging.v1.services.list_async()

    async def held(service: Any) -> ServiceConfig:
        members = await client.messaging.v1.services(service.sid).phone_numbers.list_async()
        return ServiceConfig(
            sid=str(service.sid),
            friendly_name=str(service.friendly_name or service.sid),
            inbound_request_url=service.inbound_request_url or "",
            defers=bool(service.use_inbound_webhook_on_number),
            phone_numbers=tuple(str(m.phone_number) for m in members),
        )

    configs = await asyncio.gather(*(held(service) for service in listed))
    return {number: config for config in configs for number in config.phone_numbers}


def line_of(lines: Sequence[Line], phone_number: str) -> Line | None:
    return next((line for line in lines if phone_number in line.numbers), None)


async def check(
    client: TwilioClient,
    account_sid: str,
    lines: Sequence[Line],
    want: Wanted,
    found: list[Finding],
) -> None:
    """The account, every line's numbers (or, with none named, the account's), the crew phones."""
    try:
        account = await client.api.v2010.accounts(account_sid).fetch_async()
    except TwilioRestException as exc:
        found.append(credentials_finding(exc))
        return
    found.extend(
        account_findings(
            str(account.status), str(account.type or ""), str(account.friendly_name), account_sid
        )
    )
    configured = [number for line in lines for number in line.numbers]
    if not configured:
        numbers, listed = await asyncio.gather(
            all_numbers(client), _services_or_none(client, found)
        )
        found.extend(unconfigured_findings(numbers, listed or {}, want))
        found.extend(forward_findings(lines, [n.phone_number for n in numbers]))
        return
    looked_up, listed = await asyncio.gather(
        asyncio.gather(*(find_number(client, number) for number in configured)),
        _services_or_none(client, found),
    )
    held = listed or {}
    several = len(lines) > 1
    for phone_number, number in zip(configured, looked_up, strict=True):
        line = line_of(lines, phone_number)
        owner = f" (line {line.id})" if several and line is not None else ""
        if number is None:
            found.append(
                fail(
                    f"{phone_number}{owner}",
                    f"not a number of account {account_sid}",
                    "check the number in TWILIO_NUMBERS or LINES_FILE, or TWILIO_ACCOUNT_SID "
                    "(a subaccount has numbers of its own)",
                )
            )
            continue
        found.append(voice_finding(f"{phone_number}{owner} calls", number, want))
        service = held.get(phone_number)
        found.append(sms_finding(f"{phone_number}{owner} texts", number, service, want))
    forwarded = sorted({n for line in lines for n in line.forward_to} - set(configured))
    in_account = await asyncio.gather(*(find_number(client, number) for number in forwarded))
    found.extend(forward_findings(lines, [n.phone_number for n in in_account if n is not None]))


async def _services_or_none(
    client: TwilioClient, found: list[Finding]
) -> dict[str, ServiceConfig] | None:
    try:
        return await services(client)
    except TwilioRestException as exc:
        found.append(
            warn(
                "Messaging Services",
                f"not visible (Twilio answered {exc.status}): a service holding a number "
                "could override where its texts go",
                "Console > Messaging > Services: check no service holds the numbers above",
            )
        )
        return None
