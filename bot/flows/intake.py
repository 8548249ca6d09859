"""Consent steps with I/O: intake links and submissions, and the crew's opt-out button.

Like bot/flows.py: read or write the store, ask the pure rules (bot/intake.py, bot/consent.py)
what must happen, queue it on the outbox. Nothing here calls Slack or Twilio.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.domain import consent, intake, jobs
from bot.domain.jobs import Lead
from bot.domain.phone import masked
from bot.services import Services
from storage.intake import IntakeLink, IntakeStore

if TYPE_CHECKING:
    from redis.asyncio.client import Pipeline

log = logging.getLogger(__name__)

USER_AGENT_MAX = 500


def intake_store(services: Services) -> IntakeStore:
    return IntakeStore(services.redis, services.store.keys)


def intake_key(services: Services) -> bytes:
    settings = services.settings
    own = settings.intake_secret.get_secret_value() if settings.intake_secret else None
    return intake.secret_key(own, settings.slack_signing_secret.get_secret_value())


async def new_intake_link(
    services: Services, phone: str, line: str, lead_id: str, pipe: Pipeline | None = None
) -> str:
    """A fresh link to our intake page for this lead, valid INTAKE_LINK_DAYS (with `pipe`, it
    exists once the pipe's owner executes it)."""
    token = intake.new_token()
    now = services.clock()
    expires_at = now + services.settings.intake_link_days * 86_400
    await intake_store(services).create(
        token, phone=phone, line=line, lead_id=lead_id, expires_at=expires_at, now=now, pipe=pipe
    )
    return f"{services.settings.public_url}/i/{token}"


@dataclass(frozen=True)
class Visitor:
    """Who submitted, as far as the request tells: kept with an explicit consent."""

    ip: str
    forwarded_for: str
    user_agent: str


async def submit_intake(
    services: Services, link: IntakeLink, nonce: str, form: intake.IntakeForm, visitor: Visitor
) -> str:
    """ "ok" (posted), "dup" (this page load was already submitted), "limit" or "missing"."""
    now = services.clock()
    outcome = await intake_store(services).claim_submission(
        link.token, nonce, now, services.settings.intake_max_submissions
    )
    if outcome != "ok":
        return outcome
    line = services.lines.by_id(link.line)
    if form.consent:
        await services.store.ledger.append(
            link.phone,
            "explicit_consent",
            now,
            line=line.id,
            source="intake form",
            disclosure=consent.disclosure(line.business_name),
            ip=visitor.ip,
            forwarded_for=visitor.forwarded_for,
            user_agent=visitor.user_agent[:USER_AGENT_MAX],
            token=link.token[:4] + "…",
        )
    seq = await services.store.next_seq(link.phone, line.id)
    lead = Lead(phone=link.phone, line=line.id, lead_id=link.lead_id, seq=seq)
    card = jobs.post_in_thread(
        f"intake:{link.token}:{nonce}", lead, line.channel_id, intake.card_text(form)
    )
    await services.outbox.enqueue([card])
    log.info("intake form from=%s consent=%s", masked(link.phone), form.consent)
    return "ok"


async def crew_opt_out(
    services: Services,
    *,
    phone: str,
    line: str,
    user_id: str,
    channel: str,
    thread_ts: str,
    sid: str,
) -> bool:
    """The crew's "Record opt-out" button: flag and ledger entry at once; a note in the thread.
    False when the number had already opted out."""
    recorded = await services.store.record_opt_out(
        phone,
        line,
        services.clock(),
        source=f"crew:{user_id}",
        message="recorded from Slack after an opt-out-like text",
        message_sid=sid,
    )
    note = consent.crew_opt_out_note(user_id, recorded)
    job_id = f"crew-opt-out:{sid}:{user_id}:{int(recorded)}"
    await services.outbox.enqueue([jobs.post_notice(job_id, channel, note, thread_ts=thread_ts)])
    log.info("crew opt-out to=%s by=%s recorded=%s", masked(phone), user_id, recorded)
    return recorded
