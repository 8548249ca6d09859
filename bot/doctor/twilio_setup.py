"""`python -m bot setup twilio [--apply] [--messaging-service]`: point each line's numbers here.

For every number a line names it shows current → wanted VoiceUrl, VoiceMethod, SmsUrl,
SmsMethod and the call status callback, and with --apply updates the number (IncomingPhoneNumbers)
with what differs: a second run changes nothing. A TwiML App, a SIP trunk or a Messaging Service
may serve other numbers, so it never changes them on its own: it names them and says what to do.
`--messaging-service` (with --apply) sets a service that takes a number's texts to defer to the
number's own webhook, after showing which other numbers the service holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client as TwilioClient

from bot.doctor import twilio
from bot.doctor.report import Section, render
from bot.doctor.twilio import NumberConfig, ServiceConfig, Wanted, same_url
from bot.domain.line import Line

# (the API's name, the attribute and update parameter, a URL?)
FIELDS = (
    ("VoiceUrl", "voice_url", True),
    ("VoiceMethod", "voice_method", False),
    ("SmsUrl", "sms_url", True),
    ("SmsMethod", "sms_method", False),
    ("StatusCallback", "status_callback", True),
    ("StatusCallbackMethod", "status_callback_method", False),
)


@dataclass(frozen=True)
class Change:
    name: str  # VoiceUrl
    param: str  # voice_url
    current: str
    wanted: str
    needed: bool

    def describe(self) -> str:
        if not self.needed:
            return f"{self.name:<21} {self.current} (already)"
        return f"{self.name:<21} {self.current or '(none)'} → {self.wanted}"


def changes(number: NumberConfig, want: Wanted) -> list[Change]:
    """Every field, current → wanted. A URL that differs only by a fragment (Twilio's
    connection overrides, #rc=..) or a trailing slash is left as it is."""
    wanted = {
        "voice_url": want.voice_url,
        "voice_method": want.method,
        "sms_url": want.sms_url,
        "sms_method": want.method,
        "status_callback": want.status_callback,
        "status_callback_method": want.method,
    }
    found: list[Change] = []
    for name, param, is_url in FIELDS:
        current = str(getattr(number, param) or "")
        target = wanted[param]
        same = same_url(current, target) if is_url else current.upper() == target
        found.append(Change(name, param, current, target, not same))
    return found


def overrides(number: NumberConfig, service: ServiceConfig | None) -> list[str]:
    """What takes the number's calls or texts whatever its URLs say, and what to do about it."""
    page = f"{twilio.NUMBERS_PAGE} > {number.phone_number}"
    found: list[str] = []
    if number.trunk_sid:
        found.append(
            f"calls go to SIP trunk {number.trunk_sid}, whatever VoiceUrl says. setup leaves "
            f"trunks alone: take the number off it (Elastic SIP Trunking > Trunks > "
            f"{number.trunk_sid} > Numbers)"
        )
    if number.voice_application_sid:
        found.append(
            f"calls go to TwiML App {number.voice_application_sid}, whatever VoiceUrl says. "
            "setup leaves TwiML Apps alone (one may serve other numbers): "
            f'{page} > Voice Configuration: configure with "Webhook"'
        )
    if number.sms_application_sid:
        found.append(
            f"texts go to TwiML App {number.sms_application_sid}, whatever SmsUrl says. "
            "setup leaves TwiML Apps alone (one may serve other numbers): "
            f'{page} > Messaging Configuration: configure with "Webhook"'
        )
    for what, capable in (("calls (Voice)", number.voice), ("texts (SMS)", number.sms)):
        if not capable:
            found.append(f"the number can't take {what}: use a number with Voice and SMS")
    return found


@dataclass
class Outcome:
    changed: int = 0  # fields changed (or that --apply would change)
    blocked: int = 0  # numbers setup can't wire alone
    deferred: set[str] = field(default_factory=set)  # services set to defer (or to be)


async def setup_twilio(
    client: TwilioClient,
    account_sid: str,
    lines: Sequence[Line],
    public_url: str,
    out: TextIO,
    *,
    apply: bool,
    messaging_service: bool,
) -> int:
    """0 when every line's number sends its calls and texts here (after --apply); 1 otherwise,
    or when a dry run found something to change."""
    want = Wanted.under(public_url)
    try:
        account = await client.api.v2010.accounts(account_sid).fetch_async()
    except TwilioRestException as exc:
        print(render([Section("Twilio", (twilio.credentials_finding(exc),))]), file=out)
        return 1
    configured = [(number, line) for line in lines for number in line.numbers]
    try:
        held = await twilio.services(client)
    except TwilioRestException as exc:
        print(
            f"! Messaging Services not visible (Twilio answered {exc.status}): a service holding "
            "a number below could still take its texts (Console > Messaging > Services).",
            file=out,
        )
        held = {}
    if not configured:
        findings = twilio.unconfigured_findings(await twilio.all_numbers(client), held, want)
        print(render([Section("Twilio numbers", tuple(findings))]), file=out)
        print(
            "\nsetup twilio changes only the numbers you name: set TWILIO_NUMBERS (or numbers "
            "in LINES_FILE), then run it again. Nothing changed.",
            file=out,
        )
        return 1
    mode = "Changing" if apply else "Dry run (nothing changes without --apply):"
    print(
        f"{mode} {len(configured)} number(s) of account {account_sid} "
        f'"{account.friendly_name}" → {public_url}',
        file=out,
        flush=True,
    )
    outcome = Outcome()
    for phone_number, line in configured:
        owner = f" (line {line.id})" if len(lines) > 1 else ""
        print(f"\n{phone_number}{owner}", file=out, flush=True)
        number = await twilio.find_number(client, phone_number)
        if number is None:
            print(
                f"  ✗ not a number of account {account_sid}: check TWILIO_NUMBERS or LINES_FILE, "
                "or TWILIO_ACCOUNT_SID",
                file=out,
            )
            outcome.blocked += 1
            continue
        await _number(client, number, want, out, apply, outcome)
        service = held.get(phone_number)
        if service is not None and service.overrides:
            await _service(client, service, out, apply, messaging_service, outcome)
    _summary(out, apply, outcome)
    if outcome.blocked or (outcome.changed and not apply):
        return 1
    return 0


async def _number(
    client: TwilioClient,
    number: NumberConfig,
    want: Wanted,
    out: TextIO,
    apply: bool,
    outcome: Outcome,
) -> None:
    planned = changes(number, want)
    for change in planned:
        print(f"  {change.describe()}", file=out)
    blockers = overrides(number, None)
    for text in blockers:
        print(f"  ! {text}", file=out)
    outcome.blocked += bool(blockers)
    needed = [change for change in planned if change.needed]
    outcome.changed += len(needed)
    if not needed:
        print("  nothing to change", file=out, flush=True)
        return
    if not apply:
        return
    updated = await client.incoming_phone_numbers(number.sid).update_async(
        **{change.param: change.wanted for change in needed}
    )
    result = NumberConfig.from_api(updated)
    still = [change.name for change in changes(result, want) if change.needed]
    if still:
        print(f"  ✗ Twilio took the update but still shows other {', '.join(still)}", file=out)
        outcome.blocked += 1
    else:
        print(f"  ✓ changed {', '.join(change.name for change in needed)}", file=out, flush=True)


async def _service(
    client: TwilioClient,
    service: ServiceConfig,
    out: TextIO,
    apply: bool,
    messaging_service: bool,
    outcome: Outcome,
) -> None:
    where = (
        f"sends them to {service.inbound_request_url}"
        if service.inbound_request_url
        else "drops them (no inbound URL, and it doesn't defer to the number's webhook)"
    )
    print(f"  ! texts: {service.label()} takes them and {where}.", file=out)
    if service.sid in outcome.deferred:
        print("    (see above: the service is set to defer)", file=out)
        return
    members = await asyncio.gather(*(twilio.find_number(client, n) for n in service.phone_numbers))
    print(f"    The service holds {len(service.phone_numbers)} number(s):", file=out)
    for phone_number, member in zip(service.phone_numbers, members, strict=True):
        own = f"its own SmsUrl: {member.sms_url or '(none)'}" if member else "not in this account"
        print(f"      {phone_number} ({own})", file=out)
    print(
        "    Deferring to each number's webhook sends every one of them its texts at its own "
        "SmsUrl above.",
        file=out,
    )
    if not messaging_service:
        print(
            "    setup leaves Messaging Services alone. Either choose Console > Messaging > "
            f'Services > {service.friendly_name} > Integration > "Defer to sender\'s webhook", '
            "or run again with --messaging-service --apply.",
            file=out,
        )
        outcome.blocked += 1
        return
    outcome.deferred.add(service.sid)
    if not apply:
        print(f"    --apply would set {service.label()} to defer to them.", file=out)
        outcome.changed += 1
        return
    updated = await client.messaging.v1.services(service.sid).update_async(
        use_inbound_webhook_on_number=True
    )
    if updated.use_inbound_webhook_on_number:
        print(f"    ✓ {service.label()} now defers to each number's webhook", file=out)
        outcome.changed += 1
    else:
        print(f"    ✗ Twilio took the update but {service.label()} still doesn't defer", file=out)
        outcome.blocked += 1


def _summary(out: TextIO, apply: bool, outcome: Outcome) -> None:
    print("", file=out)
    if outcome.changed == 0:
        print("Nothing to change.", file=out)
    elif apply:
        print(f"Done: {outcome.changed} change(s) made.", file=out)
    else:
        print(
            f"Nothing changed: {outcome.changed} change(s) to make. Run again with --apply.",
            file=out,
        )
    if outcome.blocked:
        print(
            f"{outcome.blocked} thing(s) setup can't fix alone: see the ! lines above, then run "
            "`python -m bot doctor`.",
            file=out,
        )
    elif apply or outcome.changed == 0:
        print("Next: `python -m bot doctor`.", file=out)
