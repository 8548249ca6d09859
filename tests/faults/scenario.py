"""A burst of callers, what each must (and must never) receive, and the figures of a run.

Every case has the same cast: callers who must get exactly one auto-text and whose replies must
reach Slack exactly once (a Slack post is at least once, but a duplicate still counts here), and
callers who opted out (texted STOP first) or were excluded, who must get nothing at all.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from bot.domain.jobs import QUEUES
from bot.domain.line import DEFAULT_LINE
from storage.callers import Callers
from storage.keys import Keys
from storage.outbox import Outbox
from tests.faults.driver import Driver, Sent
from tests.load.numbers import callers as make_callers
from tests.standins import SlackStandIn, TwilioStandIn
from tests.waiting import wait_until


def token() -> str:
    return "tok" + uuid.uuid4().hex[:10]


@dataclass
class Caller:
    phone: str
    # normal | opted_out (texted STOP first) | excluded; a case may add its own (never "normal")
    kind: str = "normal"
    call_sid: str = ""
    replies: list[str] = field(default_factory=list)  # tokens the caller texted, in order
    crew: list[str] = field(default_factory=list)  # tokens the crew replied, in order
    called_at: float = 0.0


class Scenario:
    def __init__(
        self,
        count: int,
        redis: Redis,
        prefix: str,
        slack: SlackStandIn,
        twilio: TwilioStandIn,
        special: int = 2,
    ) -> None:
        phones = make_callers(count + 2 * special)
        self.callers = [Caller(p) for p in phones[:count]]
        self.callers += [Caller(p, "opted_out") for p in phones[count : count + special]]
        self.callers += [Caller(p, "excluded") for p in phones[count + special :]]
        self.redis = redis
        self.keys = Keys(prefix)
        self.slack = slack
        self.twilio = twilio
        self.started = time.monotonic()
        self.fired_until = 0.0
        self.drained_at = 0.0

    @property
    def normal(self) -> list[Caller]:
        return [c for c in self.callers if c.kind == "normal"]

    @property
    def forbidden(self) -> set[str]:
        """Numbers nothing may ever be sent to."""
        return {c.phone for c in self.callers if c.kind != "normal"}

    # ---- before the burst ------------------------------------------------------------------

    async def prepare(self, driver: Driver) -> None:
        store = Callers(self.redis, self.keys)
        for caller in self.callers:
            if caller.kind == "excluded":
                await store.exclude(caller.phone, DEFAULT_LINE, "supplier")
            elif caller.kind == "opted_out":
                await driver.caller_text(caller.phone, "STOP")

    # ---- the burst -------------------------------------------------------------------------

    async def burst(
        self, driver: Driver, rate: float, *, replies: int = 1, copies: Any = None
    ) -> None:
        """Each caller calls at its slot (open loop, `rate` per second) and then texts `replies`
        times, each text after the previous one was acknowledged (so their order is defined).
        copies(): how many concurrent deliveries each webhook gets (default 1)."""
        start = time.monotonic()

        async def one(index: int, caller: Caller) -> None:
            await asyncio.sleep(index / rate)  # the caller's slot in the schedule
            caller.called_at = time.monotonic()
            caller.call_sid = await driver.missed_call(caller.phone, copies() if copies else 1)
            for _ in range(replies if caller.kind == "normal" else 0):
                word = token()
                caller.replies.append(word)
                await driver.caller_text(
                    caller.phone, f"need a quote {word}", copies() if copies else 1
                )

        await asyncio.gather(*(one(i, c) for i, c in enumerate(self.callers)))
        self.started = start
        self.fired_until = time.monotonic()

    def card_ts(self, caller: Caller) -> str | None:
        """The caller's lead card (a top-level message with their call-back link)."""
        needle = f"tel:{caller.phone}|"
        for (_, ts), message in list(self.slack.messages.items()):
            if not message.get("thread_ts") and needle in str(message.get("text", "")):
                return ts
        return None

    async def cards_posted(self, timeout: float = 60) -> dict[str, str]:
        def all_cards() -> dict[str, str] | None:
            found = {c.phone: self.card_ts(c) for c in self.normal}
            return {k: v for k, v in found.items() if v} if all(found.values()) else None

        cards: dict[str, str] = await wait_until(
            all_cards, timeout=timeout, interval=0.2, message="not every lead card was posted"
        )
        return cards

    async def crew_replies(self, driver: Driver, retries: Any = None) -> None:
        cards = await self.cards_posted()

        async def one(caller: Caller) -> None:
            word = token()
            caller.crew.append(word)
            await driver.crew_reply(
                cards[caller.phone], f"we can come at 3 {word}", retries() if retries else 0
            )

        await asyncio.gather(*(one(c) for c in self.normal))
        self.fired_until = time.monotonic()

    # ---- after -----------------------------------------------------------------------------

    def _reply_posts(self) -> Counter[str]:
        wanted = {w for c in self.callers for w in c.replies}
        found: Counter[str] = Counter()
        for post in self.slack.posts:
            for word in wanted & set(str(post.get("text", "")).split()):
                found[word] += 1
        return found

    def _sms(self) -> tuple[Counter[str], Counter[str]]:
        """Auto-texts per caller, and crew-reply texts per token."""
        crew = {w for c in self.callers for w in c.crew}
        cast = {c.phone for c in self.callers}
        auto: Counter[str] = Counter()
        relayed: Counter[str] = Counter()
        for message in self.twilio.messages:
            if message["To"] not in cast:
                continue  # a text to the owner (ALERT_PHONE): a case counts those itself
            words = crew & set(str(message.get("Body", "")).split())
            if words:
                relayed.update(words)
            else:
                auto[message["To"]] += 1
        return auto, relayed

    def complete(self) -> bool:
        auto, relayed = self._sms()
        posts = self._reply_posts()
        return (
            all(auto[c.phone] >= 1 for c in self.normal)
            and all(relayed[w] >= 1 for c in self.normal for w in c.crew)
            and all(posts[w] >= 1 for c in self.normal for w in c.replies)
        )

    async def outbox_empty(self) -> bool:
        depth = await Outbox(self.redis, self.keys).depth()
        return not any(depth.values())

    async def drain(self, timeout: float = 120, complete: bool = True) -> None:
        """Everything expected arrived and nothing is left to do (no job queued, pending or
        scheduled for a retry). With complete=False, only the outbox must empty (a case that
        knows some texts can't arrive)."""

        async def done() -> bool:
            return (not complete or self.complete()) and await self.outbox_empty()

        try:
            await wait_until(done, timeout=timeout, interval=0.2)
        except AssertionError:
            raise AssertionError(f"the run did not drain: {await self.leftovers()}") from None
        self.drained_at = time.monotonic()

    async def leftovers(self) -> dict[str, Any]:
        """What is still queued or scheduled, for a failure message."""
        found: dict[str, Any] = {"complete": self.complete()}
        for queue in QUEUES:
            stream = await self.redis.xrange(self.keys.stream(queue), count=5)
            found[f"{queue} stream"] = [fields.get("job", "")[:160] for _, fields in stream]
            retry = await self.redis.zrange(self.keys.retry(queue), 0, 4)
            found[f"{queue} retry"] = [job[:160] for job in retry]
        return found

    async def markers(self) -> dict[str, str]:
        """The auto-text's at-most-once marker per normal caller ('done', 'running', ...)."""
        found = {}
        for caller in self.normal:
            job_id = f"textback:{caller.call_sid}"
            value = await self.redis.get(self.keys.caller_job(caller.phone, job_id))
            found[caller.phone] = str(value)
        return found

    def figures(self, sent: Sent) -> dict[str, Any]:
        auto, relayed = self._sms()
        posts = self._reply_posts()
        normal = self.normal
        forbidden = self.forbidden
        lost_texts = sum(1 for c in normal if auto[c.phone] == 0)
        lost_relays = sum(1 for c in normal for w in c.crew if relayed[w] == 0)
        lost_posts = sum(1 for c in normal for w in c.replies if posts[w] == 0)
        return {
            "events sent (acknowledged)": sent.events,
            "webhook deliveries (with copies and retries)": sent.deliveries,
            "webhook answers": " ".join(f"{k}:{v}" for k, v in sorted(sent.statuses.items())),
            "SMS sent": len(self.twilio.messages),
            "Slack posts": len(self.slack.posts),
            "duplicate SMS": sum(n - 1 for n in auto.values() if n > 1)
            + sum(n - 1 for n in relayed.values() if n > 1),
            "duplicate Slack posts": sum(n - 1 for n in posts.values() if n > 1),
            "losses": lost_texts + lost_relays + lost_posts,
            "texts to opted-out/excluded": sum(
                1 for m in self.twilio.messages if m["To"] in forbidden
            ),
            "time to drain (s)": round(self.drained_at - self.fired_until, 1)
            if self.drained_at
            else "not drained",
        }
