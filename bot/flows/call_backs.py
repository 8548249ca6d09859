"""A crew member taps Call back on a lead card: their phone rings from the business number and,
on a key press, the caller is dialled from it. Its Twilio webhooks report here how it went.

The tap only queues the call (a PlaceCall job, at most once) and answers Slack; the thread gets
one line per call: connected and for how long, or why not.
"""

from __future__ import annotations

import logging
import uuid

from bot.domain import call_backs as rules
from bot.domain.call_backs import CallBack
from bot.domain.jobs import Ephemeral, Job, LeadThread, PlaceCall, ThreadPost
from bot.domain.phone import masked
from bot.flows import leads
from bot.services import Services

log = logging.getLogger(__name__)


async def tap(services: Services, lead: LeadThread, user: str) -> str:
    """The Call back button. Returns: placed, no_phone, busy (someone is calling them back),
    duplicate (this user's second tap), no_number (no business number known for the caller)."""
    crew_phone = await services.crew.phone(user)
    if crew_phone is None:
        await _tell(services, lead, user, "no-phone", rules.register_first())
        return "no_phone"
    caller = await services.callers.caller(lead.phone, lead.line)
    line = services.lines.known(lead.line)
    business_number = caller.get("business_number") or next(iter(line.numbers), None)
    if not business_number:
        log.warning("call back without a business number lead=%s", lead.lead_id)
        return "no_number"
    holder = await services.call_backs.hold(lead.phone, user, rules.HOLD_SECONDS)
    if holder == user:
        return "duplicate"  # a second tap within seconds: the first one's call is on its way
    if holder is not None:
        await _tell(services, lead, user, "busy", rules.someone_else_calling(holder))
        return "busy"
    state = await services.leads.get(lead.phone, lead.lead_id)
    call_back = CallBack(
        id=uuid.uuid4().hex[:16],
        phone=lead.phone,
        line=lead.line,
        lead_id=lead.lead_id,
        channel=lead.channel,
        user=user,
        crew_phone=crew_phone,
        business_number=business_number,
        callee=rules.callee(lead.phone, state.caller_name),
    )
    await services.call_backs.create(call_back)
    place = PlaceCall(call_back.id, lead, user, crew_phone, business_number)
    ringing = Ephemeral(lead.channel, user, rules.ringing_you(crew_phone, lead.phone))
    await services.outbox.enqueue(
        [
            Job(f"call-back:{call_back.id}", place),
            Job(f"call-back:{call_back.id}:ringing", ringing),
        ]
    )
    log.info("call back by=%s to=%s id=%s", user, masked(lead.phone), call_back.id)
    return "placed"


async def _tell(services: Services, lead: LeadThread, user: str, what: str, text: str) -> None:
    job_id = f"call-back:{lead.lead_id}:{user}:{what}:{uuid.uuid4().hex[:8]}"
    await services.outbox.enqueue([Job(job_id, Ephemeral(lead.channel, user, text))])


async def answered(services: Services, call_back_id: str) -> CallBack | None:
    """The crew member's phone answered: who they are about to call (None: not ours)."""
    return await services.call_backs.get(call_back_id)


async def pressed(services: Services, call_back_id: str) -> CallBack | None:
    """A key was pressed: the caller is dialled now; the hold lasts as long as the call."""
    call_back = await services.call_backs.pressed(call_back_id)
    if call_back is not None:
        await services.call_backs.keep_holding(
            call_back.phone, call_back.user, rules.TALK_HOLD_SECONDS
        )
    return call_back


async def dialled(services: Services, call_back_id: str, dial_status: str, seconds: int) -> None:
    """The caller's leg ended (the <Dial action>): the thread says how it went, and a call that
    connected is the crew's answer to the caller."""
    call_back = await services.call_backs.get(call_back_id)
    if call_back is None:
        return
    await services.call_backs.release(call_back.phone, call_back.user)  # may be called again
    if not await services.call_backs.report_once(call_back_id):
        return
    await _thread_line(services, call_back, rules.dialled(call_back.user, dial_status, seconds))
    if dial_status == "completed":
        await leads.called_back(
            services, call_back.phone, call_back.line, call_back.lead_id, call_back.user
        )
    log.info("call back %s id=%s seconds=%s", dial_status, call_back_id, seconds)


async def ended(services: Services, call_back_id: str, call_status: str) -> None:
    """The crew member's own leg ended (its status callback). If no key was pressed, the caller
    was never dialled: the thread says why. Either way the caller may be called again."""
    call_back = await services.call_backs.get(call_back_id)
    if call_back is None:
        return
    await services.call_backs.release(call_back.phone, call_back.user)
    if call_back.pressed or not await services.call_backs.report_once(call_back_id):
        return  # the dial's action tells how the caller's leg went
    await _thread_line(services, call_back, rules.not_dialled(call_back.user, call_status))
    log.info("call back not dialled status=%s id=%s", call_status, call_back_id)


async def not_placed(services: Services, call_back_id: str, reason: str) -> None:
    """Twilio refused the call: the thread says why, like a text that failed."""
    call_back = await services.call_backs.get(call_back_id)
    if call_back is None:
        return
    await services.call_backs.release(call_back.phone, call_back.user)
    if await services.call_backs.report_once(call_back_id):
        await _thread_line(services, call_back, rules.not_placed(call_back.user, reason))


async def _thread_line(services: Services, call_back: CallBack, text: str) -> None:
    """A line at the end of the caller's thread, in its order."""
    lead = LeadThread(call_back.phone, call_back.line, call_back.lead_id, call_back.channel)
    seq = await services.callers.next_seq(call_back.phone, call_back.line)
    await services.outbox.enqueue(
        [Job(f"call-back:{call_back.id}:told", ThreadPost(lead.at(seq), text))]
    )
