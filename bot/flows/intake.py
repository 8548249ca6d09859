"""The intake page: a link for each lead's first text, and the form a caller submits there.

Reads and writes the store, asks the domain's rules (bot/domain/intake.py, consent.py) what must
happen, queues it on the outbox. Nothing here calls Slack or Twilio.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio.client import Pipeline

from bot.domain import consent, intake
from bot.domain.jobs import Job, LeadThread, ThreadPost
from bot.domain.phone import masked
from bot.flows import webhooks as webhook_flows
from bot.services import Services

log = logging.getLogger(__name__)

USER_AGENT_MAX = 500


def form_key(services: Services) -> bytes:
    """The key that signs the form's anti-forgery field."""
    settings = services.settings
    own = settings.intake_secret.get_secret_value() if settings.intake_secret else None
    return intake.secret_key(own, settings.slack_signing_secret.get_secret_value())


def new_link(services: Services, pipe: Pipeline, phone: str, line: str, lead_id: str) -> str:
    """A fresh link to our intake page for this lead, valid INTAKE_LINK_DAYS; it exists once the
    pipe's owner executes it."""
    token = intake.new_token()
    now = services.clock()
    expires_at = now + services.settings.intake_link_days * 86_400
    services.intake.create(
        pipe, token, phone=phone, line=line, lead_id=lead_id, expires_at=expires_at, now=now
    )
    return f"{services.settings.public_url}/i/{token}"


async def find_link(services: Services, token: str) -> intake.IntakeLink | None:
    return await services.intake.find(token, services.clock())


@dataclass(frozen=True)
class Visitor:
    """Who submitted, as far as the request tells: kept with an explicit consent. ip: the
    client's address (a trusted proxy's report, else the socket's); forwarded_for: the
    X-Forwarded-For header as it came."""

    ip: str
    forwarded_for: str
    user_agent: str


async def submit(
    services: Services,
    link: intake.IntakeLink,
    nonce: str,
    form: intake.IntakeForm,
    visitor: Visitor,
) -> str:
    """ "ok" (posted), "dup" (this page load was already submitted), "limit" (this link took
    its INTAKE_MAX_SUBMISSIONS), "busy" (this address sent INTAKE_MAX_PER_ADDRESS this hour)
    or "missing"."""
    now = services.clock()
    sent = await services.intake.from_address(visitor.ip, now)
    if sent > services.settings.intake_max_per_address:
        log.warning("intake form refused: too many from one address this hour (%d)", sent)
        return "busy"
    outcome = await services.intake.claim_submission(
        link.token, nonce, now, services.settings.intake_max_submissions
    )
    if outcome != "ok":
        return outcome
    line = services.lines.known(link.line)
    if form.consent:
        await services.ledger.append(
            link.phone,
            "explicit_consent",
            now,
            line=link.line,
            source="intake form",
            disclosure=consent.disclosure(line.business_name),
            ip=visitor.ip,
            forwarded_for=visitor.forwarded_for,
            user_agent=visitor.user_agent[:USER_AGENT_MAX],
            token=link.token[:4] + "…",
        )
    lead = LeadThread(link.phone, link.line, link.lead_id, await _channel(services, link))
    seq = await services.callers.next_seq(link.phone, link.line)
    card = ThreadPost(lead.at(seq), intake.card_text(form))
    if form.name:
        await services.leads.intake_name(link.phone, link.lead_id, form.name)
    told = webhook_flows.event(
        services,
        "intake.submitted",
        line=link.line,
        cause=f"{link.lead_id}:{nonce}",
        phone=link.phone,
        lead_id=link.lead_id,
        at=now,
        intake={**form.values(), "consent": form.consent},
    )
    # The lead, not the token, names the job: job ids reach the logs, and the token opens the form.
    jobs = [Job(f"intake:{link.lead_id}:{nonce}", card), *webhook_flows.some(told)]
    await services.outbox.enqueue(jobs)
    log.info("intake form from=%s consent=%s", masked(link.phone), form.consent)
    return "ok"


async def _channel(services: Services, link: intake.IntakeLink) -> str:
    """The lead's thread is where its card went; before it posted, the line's channel."""
    state = await services.leads.get(link.phone, link.lead_id)
    return state.channel or services.lines.known(link.line).channel_id
