"""A caller's text settles on its lead by compare-and-set (LeadStore.settle_text), against a
real Redis: written when the lead's version is still the one the claim read; when another
change came in between, nothing is written and the flow decides again from what is there."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.domain import leads
from bot.flows.leads import caller_text_settled
from storage.callers import Callers, OpenedLead
from storage.keys import Keys
from storage.leads import LeadStore
from tests.conftest import BUSINESS_NUMBER, CALLER, Harness, new_sid

LINE = "default"


async def claimed_text(
    callers: Callers, message_sid: str, now: float, action: str = "message"
) -> tuple[str, OpenedLead]:
    """A caller's text through the claim, as the webhook makes it: its lead id, the lead read."""
    claim, opened = await callers.record_inbound_sms(
        phone=CALLER,
        line=LINE,
        message_sid=message_sid,
        business_number=BUSINESS_NUMBER,
        action=action,
        posts=1,
        now=now,
        lead_seconds=3_600,
        new_lead_id="lead1",
        body="Can you come Tuesday?",
    )
    assert opened is not None
    return claim.lead_id, opened


async def test_a_text_on_an_unchanged_lead_is_applied_with_its_clock_and_places(
    redis: Redis, key_prefix: str
) -> None:
    keys = Keys(key_prefix)
    callers, store = Callers(redis, keys), LeadStore(redis, keys)
    lead_id, opened = await claimed_text(callers, new_sid("SM"), 1_000.0)
    assert opened.first_reply and opened.state.version == 0
    replied = leads.caller_replied(opened.state, urgent=True)
    assert replied is not None

    settled = await store.settle_text(
        CALLER,
        LINE,
        lead_id,
        read_version=opened.state.version,
        changes=replied.changes(),
        start_waiting=1_000.0,
        stop_waiting=False,
        extra_places=2,
    )

    assert settled.applied and settled.version == 1
    assert settled.clock_started and settled.clock_stopped_since is None
    assert settled.first_place == 3  # the claim reserved 1 for the new lead's card, 2 the text
    assert not settled.update_queued  # the card is not in Slack yet: it posts this state
    lead = await store.get(CALLER, lead_id)
    assert (lead.state, lead.urgent, lead.version) == ("replied", True, 1)
    assert await store.waiting_since(CALLER, lead_id) == "1000.0"
    assert await redis.hget(keys.caller(CALLER, LINE), "seq") == "4"


async def test_a_text_on_a_lead_that_changed_since_the_claim_writes_nothing(
    redis: Redis, key_prefix: str
) -> None:
    keys = Keys(key_prefix)
    callers, store = Callers(redis, keys), LeadStore(redis, keys)
    lead_id, opened = await claimed_text(callers, new_sid("SM"), 1_000.0)
    # The crew claims the card between the claim's read and the text's write.
    assert await store.change(CALLER, lead_id, lambda lead: leads.apply(lead, "claim", "U1"))
    replied = leads.caller_replied(opened.state)
    assert replied is not None

    settled = await store.settle_text(
        CALLER,
        LINE,
        lead_id,
        read_version=opened.state.version,
        changes=replied.changes(),
        start_waiting=1_000.0,
        stop_waiting=False,
        extra_places=1,
    )

    assert not settled.applied
    lead = await store.get(CALLER, lead_id)
    assert (lead.state, lead.claimer, lead.version) == ("claimed", "U1", 1)
    assert await store.waiting_since(CALLER, lead_id) is None
    assert await redis.hget(keys.caller(CALLER, LINE), "seq") == "2"  # the card's, the text's


async def test_a_text_without_a_transition_settles_whatever_the_version(
    redis: Redis, key_prefix: str
) -> None:
    keys = Keys(key_prefix)
    callers, store = Callers(redis, keys), LeadStore(redis, keys)
    lead_id, _ = await claimed_text(callers, new_sid("SM"), 1_000.0)
    await store.change(CALLER, lead_id, lambda lead: leads.apply(lead, "book", "U1"))

    settled = await store.settle_text(
        CALLER,
        LINE,
        lead_id,
        read_version=None,
        changes={},
        start_waiting=None,
        stop_waiting=False,
        extra_places=0,
    )

    assert settled.applied and settled.version is None and settled.first_place == 0
    assert (await store.get(CALLER, lead_id)).state == "booked"


async def test_a_crew_claim_between_the_read_and_the_write_is_kept_and_the_card_updated(
    harness: Harness,
) -> None:
    services = harness.services
    await harness.missed_call()
    await harness.drained()  # the card is in Slack: a change to it queues an update
    lead_id, opened = await claimed_text(services.callers, new_sid("SM"), services.clock())
    assert opened.state.state == "texted"
    await services.leads.change(CALLER, lead_id, lambda lead: leads.apply(lead, "claim", "U1"))

    settled = await caller_text_settled(
        services, CALLER, LINE, lead_id, opened, urgent=True, action="message", extra_places=1
    )

    # Decided again from the claimed lead: still the crew's, flagged urgent, clock running.
    assert (settled.lead.state, settled.lead.claimer, settled.lead.urgent) == (
        "claimed",
        "U1",
        True,
    )
    stored = await services.leads.get(CALLER, lead_id)
    assert (stored.state, stored.claimer, stored.urgent) == ("claimed", "U1", True)
    assert await services.leads.waiting_since(CALLER, lead_id) is not None
    assert settled.first_place == 3  # the card's place, the text's, then this one
    # The re-decided change queued its card update on its own (the worker shows the flag).
    pipe = services.redis.pipeline(transaction=False)
    settled.finish(pipe)
    await pipe.execute()
    await harness.drained()
    assert harness.slack.calls_to("chat.update"), "the card was not updated"
