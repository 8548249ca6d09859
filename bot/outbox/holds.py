"""While Slack's wiring is broken: check it every minute, release what it held once it works,
and tell someone outside Slack.

A job Slack refuses for the business's wiring (slack_wiring.py: a revoked token, the bot out of
the channel) is held in Redis (storage/holds.py) with no attempt used. Every worker's
maintenance loop calls maintain() while some scope is broken (its round counts them); every
SLACK_RECHECK_SECONDS of the clock (a minute), one of them asks Slack (auth.test for the
token, conversations.info for a channel) and releases what works again: each scope's jobs go
back onto the slack stream in the order they were held, and each thread's posts follow in its
own order, since a held post keeps its place in its thread.

The owner hears it by SMS at ALERT_PHONE: once when Slack has refused our posts for ALERT_AFTER
or caller texts are waiting, at most once an hour, and once when it works again, from the same
number. The number: the first of the line whose channel is refused; for the token (every
line), the first line's that lists numbers; with one line answering any number, the one the
waiting caller texted. Without ALERT_PHONE the log says so at ERROR every minute (with it, too).
"""

from __future__ import annotations

import logging
import time

from bot import wiring
from bot.domain import slack_wiring
from bot.domain.jobs import Job, LeadThread, MediaUpload, SendSms, SlackThread, ThreadPost
from bot.domain.line import Line
from bot.services import Services
from storage.holds import Broken

log = logging.getLogger(__name__)

ALERT_AFTER = 300.0  # Slack refusing our posts this long is worth a text, waiting callers or not
ALERT_EVERY = 3600.0  # at most one "Slack is refusing" text an hour
REFRESH_EVERY = 1.0  # seconds (real) between reads of what is broken, per process


class Holds:
    """One per worker: what its maintenance loop does about broken wiring."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._read_at = 0.0

    async def maintain(self) -> None:
        services = self.services
        if time.monotonic() - self._read_at < REFRESH_EVERY:
            return
        self._read_at = time.monotonic()
        broken = await services.holds.broken()  # also refreshes this process's view
        if not broken:
            return  # refreshed the view: broken scopes a moment ago, fixed since
        now = services.clock()
        every = services.settings.slack_recheck_seconds
        if now < broken[0].since + every:
            return  # a minute after it broke: a blip never texts the owner
        if not await services.holds.claim_check(now, every):
            return  # another worker checks this minute
        delivered = await self._check(broken)
        still = await services.holds.broken()
        if still:
            await self._still_broken(still, now)
        else:
            await self._recovered(delivered)

    async def _check(self, broken: list[Broken]) -> int:
        """Ask Slack about each broken scope; release those that work. Returns the caller texts
        released."""
        services = self.services
        token = next((b for b in broken if b.scope == slack_wiring.TOKEN), None)
        if token is not None:
            error = await wiring.slack_token(services.slack)
            if error in slack_wiring.TOKEN_ERRORS:
                await services.holds.still_broken(token, str(error))
                return 0  # every channel check would fail the same way
            if error is not None:
                log.warning("slack wiring check: auth.test %s; looking again in a minute", error)
                return 0
        delivered = 0
        for scope in broken:
            if scope.channel is not None:
                error = await wiring.slack_channel(services.slack, scope.channel)
                if error in slack_wiring.CHANNEL_ERRORS:
                    await services.holds.still_broken(scope, str(error))
                    continue
                if error is not None and not error.startswith(("missing_scope", "not_allowed")):
                    log.warning("slack wiring check: channel %s %s", scope.channel, error)
                    continue
                # Working, or the token may not read channels (installed before it asked for
                # channels:read): let the held jobs try; if Slack still refuses, they hold again.
            waiting = await self._caller_texts(scope)
            released = await services.holds.release(scope.scope)
            delivered += waiting
            log.warning(
                "slack works again for %s: %d held jobs back in the queue", scope.scope, released
            )
        return delivered

    async def _still_broken(self, broken: list[Broken], now: float) -> None:
        services = self.services
        oldest = broken[0]
        waiting = sum([await self._caller_texts(b) for b in broken])
        line = self._line(oldest)
        where = f"channel of {line.business_name}" if oldest.channel and line else None
        text = slack_wiring.alert_text(oldest.error, where, waiting)
        minutes = int((now - oldest.since) // 60)
        phone = services.settings.alert_phone
        log.error(
            "%s Refusing for %d min.%s",
            text,
            minutes,
            "" if phone else " Set ALERT_PHONE to get this by text.",
        )
        if phone is None or not (waiting or now - oldest.since >= ALERT_AFTER):
            return
        alert = await services.holds.alert_state()
        if now - float(alert.get("down_at") or 0) < ALERT_EVERY:
            return
        outage = str(int(oldest.since))
        sender = await self._sender(broken)
        if await self._text_owner(sender, f"alert:{outage}:down", text) and sender:
            await services.holds.alerted_down(outage, now, sender[0].id, sender[1])

    async def _recovered(self, delivered: int) -> None:
        alert = await self.services.holds.alert_state()
        outage = alert.get("outage")
        if not outage:
            return
        text = slack_wiring.recovery_text(delivered)
        log.warning("%s", text)
        # From the number the first text came from: the owner knows that thread.
        line = self.services.lines.by_id(alert.get("line", ""))
        sender = (line, alert["from"]) if line and alert.get("from") else None
        await self._text_owner(sender, f"alert:{outage}:up", text)
        await self.services.holds.alerted_up()

    async def _text_owner(self, sender: tuple[Line, str] | None, job_id: str, text: str) -> bool:
        """The SMS to ALERT_PHONE, through the outbox (at most once, like every text)."""
        services = self.services
        phone = services.settings.alert_phone
        if phone is None or sender is None:
            log.error("no business number known to text ALERT_PHONE from; add numbers to a line")
            return False
        line, number = sender
        sms = SendSms(
            to=phone,
            from_=number,
            body=text,
            purpose="alert to the owner",
            line=line.id,
            report_to=SlackThread(line.channel_id),
        )
        await services.outbox.enqueue([Job(job_id, sms)])
        return True

    async def _sender(self, broken: list[Broken]) -> tuple[Line, str] | None:
        """The line and business number an alert goes out from."""
        services = self.services
        lines = [line for b in broken if (line := self._line(b))] + list(services.lines.all)
        for line in lines:
            if line.numbers:
                return line, line.numbers[0]
        # One line answering any number: the one the waiting caller texted is surely ours.
        for b in broken:
            for job in await services.holds.held(b.scope):
                lead = _lead(job)
                if lead is not None:
                    caller = await services.callers.caller(lead.phone, lead.line)
                    if caller.get("business_number"):
                        return services.lines.known(lead.line), caller["business_number"]
        return None

    def _line(self, broken: Broken) -> Line | None:
        if broken.channel is None:
            return None
        return self.services.lines.for_channel(broken.channel)

    async def _caller_texts(self, broken: Broken) -> int:
        """Caller texts held by a scope: held themselves, or parked behind a held post."""
        services = self.services
        count = 0
        for job in await services.holds.held(broken.scope):
            count += _is_caller_text(job)
            lead = _lead(job)
            if lead is not None:
                parked = await services.threads.parked_jobs(lead.phone, lead.line)
                count += sum(_is_caller_text(p) for p in parked)
        return count


def _lead(job: Job) -> LeadThread | None:
    payload = job.payload
    return payload.place.lead if isinstance(payload, ThreadPost | MediaUpload) else None


def _is_caller_text(job: Job) -> bool:
    """A caller's text relayed into their thread: `in:<MessageSid>` (domain/plans.py); its
    card, photos and flags carry a suffix."""
    return (
        isinstance(job.payload, ThreadPost) and job.id.startswith("in:") and job.id.count(":") == 1
    )
