"""The load run: real server and worker processes, loopback Slack/Twilio stand-ins with latency and
Slack's per-channel limit, signed missed-call webhooks (and caller replies) at a set rate.

    python -m tests.load --rate 200 --seconds 60 [--replies] [--webhooks] [--json out.json]

Runs on the product's defaults, in the Procfile's shape (`serve` with its worker, plus one
`worker`), unless told otherwise. Prints every setting the run changes from the product's
defaults, rate offered and achieved, webhook ack latency, missed-call -> SMS-request latency,
caller-reply -> Slack-post latency, Slack 429s, lost, duplicated, CPU and memory per process,
and each process's idle Redis commands per second after the load; with --webhooks, the outbound
webhook events a loopback receiver got (signatures checked) and how long after the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import os
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

import aiohttp
from redis.asyncio import Redis

from bot import local_redis
from bot.domain import webhooks as webhook_rules
from bot.domain.jobs import QUEUES, Job
from storage import connection as redis_client
from storage.keys import Keys
from tests.load.changes import changed_settings, describe_settings, run_env
from tests.load.idle import describe_rates, idle_commands
from tests.load.numbers import callers as make_callers
from tests.load.procs import CLOCK_TICKS, Proc, app_env, spawn, wait_healthy
from tests.signing import twilio_signature
from tests.standins import SlackStandIn, TwilioStandIn
from tests.webhook_receiver import WebhookReceiver

PUBLIC_URL = "https://textback.load.test"
BUSINESS_NUMBER = "+12125550100"
CHANNEL = "C0LOAD"
SIGNING_SECRET = "load-signing-secret"
FORM = "application/x-www-form-urlencoded"
BURST_SECONDS = 0.1


@dataclass
class LoadConfig:
    rate: float = 200.0  # missed calls per second
    seconds: float = 60.0  # 0: no calls, only the idle measure
    replies: bool = False  # each caller also texts back one second after the call
    twilio_ms: float = 150.0  # added by the Twilio stand-in to every request
    slack_ms: float = 150.0  # added by the Slack stand-in to every request
    webhook_ms: float = 150.0  # added by the outbound webhooks' receiver to every request
    slack_rate: float | None = None  # posts/s/channel the Slack stand-in allows (default: raised)
    # Settings the run passes beyond what the stand-ins need (`--set NAME=VALUE`).
    settings: dict[str, str] = field(default_factory=dict)
    drain_timeout: float = 180.0
    redis_url: str | None = None
    own_redis: bool = False  # start a private Redis, so its counters measure only this run
    # procfile: `serve` with its inline worker plus one `worker`, as the Procfile (default);
    # split: a worker per queue (sms, slack, webhooks) beside a `serve` without one; one: one
    # worker for every queue beside a `serve` without one; inline: `serve` alone.
    workers: Literal["procfile", "split", "one", "inline"] = "procfile"
    # Callers spread round-robin over this many lines (a LINES_FILE with one number and channel
    # each); 1: the environment's one line, as without LINES_FILE.
    lines: int = 1
    # Outbound webhooks on, to a loopback receiver that adds `webhook_ms` to each answer (split:
    # a worker of their own, --queues webhooks).
    webhooks: bool = False
    webhooks_nice: int = 0  # split: run the webhooks worker at this lower CPU priority
    # After the load, with no traffic: how long to watch each process's Redis commands (0: skip).
    idle_seconds: float = 10.0


@dataclass
class Figures:
    offered_rate: float = 0.0
    achieved_rate: float = 0.0
    calls: int = 0
    replies: int = 0
    ack_ms: dict[str, float] = field(default_factory=dict)
    sms_ms: dict[str, float] = field(default_factory=dict)
    reply_post_ms: dict[str, float] = field(default_factory=dict)
    slack_429s: int = 0
    slack_posts: int = 0
    slack_cards: int = 0  # lead cards posted (one per caller: each opens a new lead)
    slack_updates: int = 0  # chat.update calls (a card posted before its text's outcome)
    slack_post_rate: float = 0.0
    slack_allowed_rate: float = 0.0
    lost: int = 0
    duplicated: int = 0
    drain_seconds: float = 0.0
    drained: bool = False  # every text, card and reply arrived before drain_timeout
    # Jobs still queued or scheduled for retry when the run stopped, by kind.
    outbox_left: dict[str, int] = field(default_factory=dict)
    processes: dict[str, dict[str, float]] = field(default_factory=dict)
    # Every RSS sample of each process, RSS_SAMPLE_SECONDS apart (in the JSON only).
    rss_samples_mb: dict[str, list[float]] = field(default_factory=dict)
    # This process (load generator + Slack and Twilio stand-ins): it shares the same cores.
    rig_cpu_seconds: float = 0.0
    redis_cpu_seconds: float | None = None  # the private redis-server's own CPU (own_redis)
    # Per event (missed call + its reply, if any), idle polling subtracted; only with own_redis.
    redis_commands_per_call: float | None = None
    redis_bytes_per_call: float | None = None
    # Per event, by command name (inside scripts too), from INFO commandstats.
    redis_commands_by_name: dict[str, float] = field(default_factory=dict)
    # With no traffic after the load: Redis commands per second each process sends, by command.
    idle_commands: dict[str, dict[str, float]] = field(default_factory=dict)
    # Settings the run gives the processes that differ from the product's defaults.
    settings_changed: dict[str, str] = field(default_factory=dict)
    # --webhooks: events the receiver got (distinct webhook-ids) / expected, repeats of an id
    # (at least once allows them), bad signatures, and missed call -> lead.created received.
    webhook_events: int = 0
    webhook_expected: int = 0
    webhook_repeats: int = 0
    webhook_bad_signatures: int = 0
    webhook_created_ms: dict[str, float] = field(default_factory=dict)


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000

    return {
        "p50": statistics.median(ordered) * 1000,
        "p99": at(0.99),
        "max": ordered[-1] * 1000,
    }


class Driver:
    """Fires signed webhooks at the server the way Twilio does, and times the answers."""

    def __init__(self, base: str, auth_token: str) -> None:
        self.base = base
        self.auth_token = auth_token
        self.acks: list[float] = []
        self.errors: Counter[int] = Counter()
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))

    async def post(self, path: str, params: dict[str, str]) -> None:
        signature = twilio_signature(self.auth_token, PUBLIC_URL + path, params)
        headers = {"X-Twilio-Signature": signature, "Content-Type": FORM}
        body = urlencode(params).encode()  # bytes: aiohttp's FormData costs the rig more CPU
        started = time.monotonic()
        async with self.http.post(self.base + path, data=body, headers=headers) as response:
            await response.read()
            self.acks.append(time.monotonic() - started)
            if response.status >= 300:
                self.errors[response.status] += 1

    async def close(self) -> None:
        await self.http.close()


async def run(config: LoadConfig, progress: Any = print) -> Figures:
    total = int(config.rate * config.seconds)
    numbers = make_callers(total) if total else []
    posts_per_call = 2 if config.replies else 1
    slack_rate = config.slack_rate or max(1.0, config.rate * posts_per_call * 1.5)
    # Slack allows "short bursts". At a raised rate a burst of a few posts is a few ms, less
    # than two busy processes' event loops and scheduler jitter (the stand-in stamps arrival in
    # this busy process): allow BURST_SECONDS worth of posts instead, the average still holds.
    burst = max(3, math.ceil(slack_rate * BURST_SECONDS))
    prefix = f"tbload-{uuid.uuid4().hex[:8]}"
    redis_url, own_redis = _redis(None if config.own_redis else config.redis_url, config.own_redis)
    log_dir = Path(tempfile.mkdtemp(prefix="textback-load-"))
    figures = Figures(calls=total, slack_allowed_rate=slack_rate)
    secret = webhook_rules.new_secret()
    async with (
        SlackStandIn(
            latency=config.slack_ms / 1000,
            rate_limit_per_channel=slack_rate,
            rate_limit_burst=burst,
        ) as slack,
        TwilioStandIn(latency=config.twilio_ms / 1000) as twilio,
        WebhookReceiver(secret, latency=config.webhook_ms / 1000) as receiver,
    ):
        port = local_redis.free_port()
        stand_in_env = {
            **_lines_env(config.lines, log_dir),
            "PORT": str(port),
            **app_env(
                public_url=PUBLIC_URL,
                redis_url=redis_url,
                prefix=prefix,
                slack=slack,
                twilio=twilio,
                signing_secret=SIGNING_SECRET,
                channel=CHANNEL,
            ),
        }
        if config.webhooks:
            stand_in_env["WEBHOOK_URLS"] = receiver.url("load")
            stand_in_env["WEBHOOK_SECRET"] = secret
        env = run_env(
            stand_in_env,
            workers=config.workers,
            slack_posts_per_second=slack_rate,
            overrides=config.settings,
        )
        figures.settings_changed = changed_settings(env)
        for line in describe_settings(figures.settings_changed):
            progress(line)
        procs = [spawn("web", "serve", env, log_dir)]
        if config.workers == "split":
            # Texts never share a process with Slack posts: a Slack backlog cannot delay them.
            procs.append(spawn("worker-sms", "worker", env, log_dir, "--queues", "sms"))
            procs.append(spawn("worker-slack", "worker", env, log_dir, "--queues", "slack"))
            if config.webhooks:  # nor with webhook receivers
                procs.append(
                    spawn(
                        "worker-webhooks",
                        "worker",
                        env,
                        log_dir,
                        "--queues",
                        "webhooks",
                        nice=config.webhooks_nice,
                    )
                )
                if config.webhooks_nice:
                    progress(f"  (worker-webhooks runs at nice {config.webhooks_nice})")
        elif config.workers in ("one", "procfile"):
            # one: serve runs no worker (RUN_WORKER=false); procfile: serve keeps its own.
            procs.append(spawn("worker", "worker", env, log_dir))
        base = f"http://127.0.0.1:{port}"
        driver = Driver(base, twilio.auth_token)
        sampler: asyncio.Task[None] | None = None
        try:
            await wait_healthy(base, procs, timeout=30)
            idle = {proc.name: proc.rss_mb() for proc in procs}
            idle_rate = await _idle_redis_rate(redis_url) if own_redis is not None else None
            before = await _redis_counters(redis_url) if own_redis is not None else None
            stats_before = await _command_stats(redis_url) if own_redis is not None else None
            redis_cpu_before = await _redis_cpu(redis_url) if own_redis is not None else None
            for proc in procs:
                proc.cpu_start = proc.cpu_seconds()
            rig_start = _own_cpu_seconds()
            if total:
                progress(f"firing {total} calls at {config.rate:g}/s for {config.seconds:g} s")
            samples: dict[str, list[float]] = {proc.name: [] for proc in procs}
            sampler = asyncio.create_task(_sample_rss(procs, samples))
            with _without_cyclic_gc():
                sent_at, reply_tokens = await _fire(driver, numbers, config, progress)
            fired_until = time.monotonic()
            figures.offered_rate = config.rate
            if total > 1:
                first, last = min(sent_at.values()), max(sent_at.values())
                figures.achieved_rate = (total - 1) / (last - first)
            figures.replies = len(reply_tokens)
            if total:
                progress("waiting for everything to drain")
            events_per_call = (4 if config.replies else 2) if config.webhooks else 0
            figures.webhook_expected = events_per_call * total
            figures.drained = await _drain(
                slack,
                twilio,
                numbers,
                reply_tokens,
                config.drain_timeout,
                receiver,
                figures.webhook_expected,
            )
            figures.drain_seconds = time.monotonic() - fired_until
            figures.rig_cpu_seconds = _own_cpu_seconds() - rig_start
            figures.outbox_left = await _settled_outbox(redis_url, prefix)
            if before is not None and idle_rate is not None and total:
                after = await _redis_counters(redis_url)
                elapsed = after[2] - before[2]
                commands = after[0] - before[0] - idle_rate[0] * elapsed
                traffic = after[1] - before[1] - idle_rate[1] * elapsed
                figures.redis_commands_per_call = commands / total
                figures.redis_bytes_per_call = traffic / total
            if redis_cpu_before is not None:
                figures.redis_cpu_seconds = await _redis_cpu(redis_url) - redis_cpu_before
            if stats_before is not None and total:
                # Idle polling included here (a few XREADGROUP/EVALSHA a second per process).
                stats_after = await _command_stats(redis_url)
                figures.redis_commands_by_name = {
                    name: round((calls - stats_before.get(name, 0)) / total, 2)
                    for name, calls in sorted(stats_after.items(), key=lambda kv: -kv[1])
                    if calls - stats_before.get(name, 0) >= total / 100
                }
            _count(figures, slack, twilio, numbers, sent_at, reply_tokens)
            if config.webhooks:
                _count_webhooks(figures, receiver, sent_at)
            figures.ack_ms = percentiles(driver.acks)
            for proc in procs:
                figures.processes[proc.name] = {
                    "cpu_seconds": proc.cpu_seconds() - proc.cpu_start,
                    "idle_rss_mb": idle[proc.name],
                    "peak_rss_mb": proc.peak_rss_mb(),
                    **_rss_at_1_min_and_end(samples[proc.name]),
                }
            figures.rss_samples_mb = samples
            if config.idle_seconds > 0:
                progress(f"watching idle Redis commands for {config.idle_seconds:g} s")
                figures.idle_commands = await _idle_commands(redis_url, procs, config.idle_seconds)
            if driver.errors:
                progress(f"webhook errors by status: {dict(driver.errors)}")
        finally:
            if sampler is not None:
                sampler.cancel()
            await driver.close()
            for proc in procs:
                proc.stop()
            await _cleanup(redis_url, prefix)
            if own_redis is not None:
                own_redis.terminate()
                own_redis.wait(timeout=10)
    return figures


RSS_SAMPLE_SECONDS = 10.0


def line_numbers(count: int) -> list[str]:
    """The business numbers callers dial: the one line's, or one per line of the lines file."""
    if count <= 1:
        return [BUSINESS_NUMBER]
    return [f"+1212555{150 + n:04d}" for n in range(count)]


def _lines_env(count: int, directory: Path) -> dict[str, str]:
    """With several lines: a LINES_FILE of `count` lines (one number and channel each)."""
    if count <= 1:
        return {}
    path = directory / "lines.toml"
    path.write_text(
        "".join(
            f'[[line]]\nid = "load-{n}"\nnumbers = ["{number}"]\nname = "Load Electric {n}"\n'
            f'channel = "{CHANNEL}{n}"\n\n'
            for n, number in enumerate(line_numbers(count))
        )
    )
    return {"LINES_FILE": str(path)}


@contextlib.contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """The load generator's own full collections, over the stand-ins' records of every request
    (tens of thousands), paused it for 100-200 ms and showed up as webhook latency the server
    never had. Reference counting still frees what the firing makes; this process is the
    instrument, not the service measured."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def _sample_rss(procs: list[Proc], samples: dict[str, list[float]]) -> None:
    while True:
        for proc in procs:
            samples[proc.name].append(proc.rss_mb())
        await asyncio.sleep(RSS_SAMPLE_SECONDS)  # a sampling interval, not synchronisation


def _rss_at_1_min_and_end(values: list[float]) -> dict[str, float]:
    """RSS one minute in (pools and caches warmed up) and at the end: a leak shows as growth."""
    if not values:
        return {}
    one_minute = min(len(values) - 1, int(60 / RSS_SAMPLE_SECONDS))
    return {"rss_at_1_min_mb": values[one_minute], "rss_at_end_mb": values[-1]}


async def _fire(
    driver: Driver, numbers: list[str], config: LoadConfig, progress: Any
) -> tuple[dict[str, float], dict[str, tuple[str, float]]]:
    """Each call goes at its scheduled moment (open loop: a slow server doesn't slow the offer)."""
    sent_at: dict[str, float] = {}
    reply_tokens: dict[str, tuple[str, float]] = {}
    tasks: list[asyncio.Task[None]] = []
    start = time.monotonic() + 0.2
    interval = 1 / config.rate

    lines = line_numbers(config.lines)

    def number_for(caller: str) -> str:
        return lines[numbers_index[caller] % len(lines)]

    numbers_index = {caller: index for index, caller in enumerate(numbers)}

    async def call(caller: str, due: float) -> None:
        await asyncio.sleep(max(0.0, due - time.monotonic()))  # the schedule, not synchronisation
        params = {
            "CallSid": "CA" + uuid.uuid4().hex,
            "From": caller,
            "To": number_for(caller),
            "Direction": "inbound",
            "DialCallStatus": "no-answer",
        }
        sent_at[caller] = time.monotonic()
        await driver.post("/twilio/voice/dial-status", params)

    async def reply(caller: str, due: float) -> None:
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        token = uuid.uuid4().hex[:12]
        params = {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "From": caller,
            "To": number_for(caller),
            "Body": f"need a quote {token}",
            "NumMedia": "0",
        }
        reply_tokens[caller] = (token, time.monotonic())
        await driver.post("/twilio/sms", params)

    for index, caller in enumerate(numbers):
        due = start + index * interval
        tasks.append(asyncio.create_task(call(caller, due)))
        if config.replies:
            tasks.append(asyncio.create_task(reply(caller, due + 1.0)))
    done = 0
    for task in asyncio.as_completed(tasks):
        await task
        done += 1
        if done % max(1, len(tasks) // 10) == 0:
            progress(f"  {done}/{len(tasks)} webhooks answered")
    return sent_at, reply_tokens


async def _drain(
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    numbers: list[str],
    reply_tokens: dict[str, tuple[str, float]],
    timeout: float,
    receiver: WebhookReceiver | None = None,
    webhook_events: int = 0,
) -> bool:
    """Until every caller got a text and a lead card, every reply is in Slack and the webhook
    receiver has every event (webhook_events); True if so.

    Reads only what arrived since the last look: rescanning everything every 0.2 s would cost
    the rig CPU the processes under test need."""
    deadline = time.monotonic() + timeout
    waiting_tokens = {token for token, _ in reply_tokens.values()}
    texted: set[str] = set()
    cards = 0
    seen_messages = seen_calls = 0
    while True:
        for message in twilio.messages[seen_messages:]:
            texted.add(message["To"])
        seen_messages = len(twilio.messages)
        for call in slack.calls[seen_calls:]:
            if call.method != "chat.postMessage" or call.failed:
                continue
            if not call.params.get("thread_ts"):
                cards += 1
            # Every token seen, not a post count: a reply that overtakes its call opens the
            # lead itself and the call then adds a "called again" note.
            waiting_tokens.difference_update(str(call.params.get("text", "")).split())
        seen_calls = len(slack.calls)
        hooks_done = receiver is None or len(_distinct_ids(receiver)) >= webhook_events
        if len(texted) >= len(numbers) and cards >= len(numbers) and not waiting_tokens:
            if hooks_done:
                return True
        if time.monotonic() >= deadline:
            return False  # not drained: the counts report what is missing
        await asyncio.sleep(0.2)  # polling the stand-ins for the drain


def _count(
    figures: Figures,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    numbers: list[str],
    sent_at: dict[str, float],
    reply_tokens: dict[str, tuple[str, float]],
) -> None:
    per_caller = Counter(m["To"] for m in twilio.messages)
    first_sms: dict[str, float] = {}
    for message in twilio.messages:
        first_sms.setdefault(message["To"], message["at"])
    figures.lost = sum(1 for n in numbers if per_caller[n] == 0)
    figures.duplicated = sum(count - 1 for count in per_caller.values() if count > 1)
    figures.sms_ms = percentiles([first_sms[n] - sent_at[n] for n in numbers if n in first_sms])

    posts = [c for c in slack.calls if c.method == "chat.postMessage" and not c.failed]
    token_posts: Counter[str] = Counter()
    posted_at: dict[str, float] = {}
    tokens = {token: caller for caller, (token, _) in reply_tokens.items()}
    for call in posts:
        text = str(call.params.get("text", ""))
        for token in tokens.keys() & set(text.split()):
            token_posts[token] += 1
            posted_at.setdefault(token, call.at)
    figures.lost += sum(1 for token in tokens if token_posts[token] == 0)
    figures.duplicated += sum(count - 1 for count in token_posts.values() if count > 1)
    figures.reply_post_ms = percentiles(
        [
            posted_at[token] - reply_tokens[caller][1]
            for token, caller in tokens.items()
            if token in posted_at
        ]
    )
    figures.slack_429s = slack.rate_limited
    figures.slack_posts = len(posts)
    figures.slack_cards = sum(1 for call in posts if not call.params.get("thread_ts"))
    figures.slack_updates = sum(1 for call in slack.calls if call.method == "chat.update")
    if len(posts) > 1:
        span = posts[-1].at - posts[0].at
        figures.slack_post_rate = (len(posts) - 1) / span if span > 0 else 0.0


def _distinct_ids(receiver: WebhookReceiver) -> set[str]:
    return {r.msg_id for r in receiver.received if 200 <= r.status < 300}


def _count_webhooks(figures: Figures, receiver: WebhookReceiver, sent_at: dict[str, float]) -> None:
    received = receiver.received
    figures.webhook_events = len(_distinct_ids(receiver))
    figures.webhook_repeats = sum(1 for r in received if 200 <= r.status < 300) - len(
        _distinct_ids(receiver)
    )
    figures.webhook_bad_signatures = sum(1 for r in received if not r.verified)
    created: dict[str, float] = {}
    for item in receiver.delivered:
        if item.type == "lead.created":
            caller = item.data["lead"]["caller"]["number"]
            created.setdefault(caller, item.at)
    figures.webhook_created_ms = percentiles(
        [created[n] - sent_at[n] for n in created if n in sent_at]
    )


async def _idle_commands(
    redis_url: str, procs: list[Proc], seconds: float
) -> dict[str, dict[str, float]]:
    """Each process's Redis commands per second with no traffic (MONITOR: one Redis only)."""
    url = urlsplit(redis_url)
    if "cluster" in url.scheme or url.hostname not in ("127.0.0.1", "localhost"):
        return {}  # its sockets' owners are only ours to find on this machine, on one node
    pids = {proc.name: proc.process.pid for proc in procs}
    return await idle_commands(redis_url, pids, url.port or 6379, seconds)


def _own_cpu_seconds() -> float:
    """User + system CPU of this process (the load generator and the stand-ins)."""
    fields = Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def _settled_outbox(redis_url: str, prefix: str, patience: float = 5.0) -> dict[str, int]:
    """What is left once the jobs in flight when the last card arrived are acknowledged (they
    are still on the stream for a few ms): up to `patience` s for the outbox to empty."""
    deadline = time.monotonic() + patience
    left = await _outbox_left(redis_url, prefix)
    while left and time.monotonic() < deadline:
        await asyncio.sleep(0.2)  # polling the outbox, bounded by patience
        left = await _outbox_left(redis_url, prefix)
    return left


async def _outbox_left(redis_url: str, prefix: str) -> dict[str, int]:
    """Jobs on the streams or waiting to be retried (an unpark timer counts too), by kind."""
    keys = Keys(prefix)
    redis = redis_client.connect(redis_url)
    try:
        pipe = redis.pipeline(transaction=False)
        for queue in QUEUES:
            pipe.xrange(keys.stream(queue))
            pipe.zrange(keys.retry(queue), 0, -1)
        replies = await pipe.execute()
    finally:
        await redis.aclose()
    kinds: Counter[str] = Counter()
    for index, reply in enumerate(replies):
        raws = [fields["job"] for _, fields in reply] if index % 2 == 0 else reply
        for raw in raws:
            try:
                kinds[Job.from_json(raw).kind] += 1
            except (ValueError, KeyError):
                kinds["unreadable"] += 1
    return dict(kinds.most_common())


async def _redis_counters(redis_url: str) -> tuple[float, float, float]:
    """(commands processed, bytes in + out, time) from INFO: what the whole run cost Redis."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        stats = await redis.info("stats")
    finally:
        await redis.aclose()
    traffic = stats["total_net_input_bytes"] + stats["total_net_output_bytes"]
    # Our own INFO call counts as one command; negligible.
    return float(stats["total_commands_processed"]), float(traffic), time.monotonic()


async def _redis_cpu(redis_url: str) -> float:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        cpu = await redis.info("cpu")
    finally:
        await redis.aclose()
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


async def _command_stats(redis_url: str) -> dict[str, int]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        stats = await redis.info("commandstats")
    finally:
        await redis.aclose()
    return {
        name.removeprefix("cmdstat_"): int(value["calls"])
        for name, value in stats.items()
        if isinstance(value, dict)
    }


async def _idle_redis_rate(redis_url: str, seconds: float = 2.0) -> tuple[float, float]:
    """Commands and bytes per second the idle processes spend polling (worker reads, timers)."""
    start = await _redis_counters(redis_url)
    await asyncio.sleep(seconds)  # a measurement window, not synchronisation
    end = await _redis_counters(redis_url)
    elapsed = end[2] - start[2]
    return (end[0] - start[0]) / elapsed, (end[1] - start[1]) / elapsed


def _redis(configured: str | None, own: bool = False) -> tuple[str, Any]:
    if configured:
        return configured, None
    if not own and local_redis.answers("127.0.0.1", 6379):
        return "redis://127.0.0.1:6379/12", None
    port = local_redis.free_port()
    return f"redis://127.0.0.1:{port}/0", local_redis.start(port, None, persist=False)


async def _cleanup(redis_url: str, prefix: str) -> None:
    redis = redis_client.connect(redis_url)  # on a cluster: scans every master
    batch: list[str] = []
    async for key in redis.scan_iter(match=f"{prefix}:*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            await redis.delete(*batch)
            batch.clear()
    if batch:
        await redis.delete(*batch)
    await redis.aclose()


def table(figures: Figures, config: LoadConfig) -> str:
    def ms(values: dict[str, float], *keys: str) -> str:
        return " / ".join(f"{values.get(k, float('nan')):.1f}" for k in keys)

    rows = [
        (
            "rate offered / achieved (calls/s)",
            f"{figures.offered_rate:.1f} / {figures.achieved_rate:.1f}",
        ),
        ("missed calls / caller replies", f"{figures.calls} / {figures.replies}"),
        ("webhook ack p50 / p99 / max (ms)", ms(figures.ack_ms, "p50", "p99", "max")),
        (
            "missed call -> SMS request p50 / p99 / max (ms)",
            ms(figures.sms_ms, "p50", "p99", "max"),
        ),
        ("caller reply -> Slack post p50 / p99 (ms)", ms(figures.reply_post_ms, "p50", "p99")),
        (
            "Slack posts (lead cards) / 429s",
            f"{figures.slack_posts} ({figures.slack_cards}) / {figures.slack_429s}",
        ),
        ("Slack card updates (chat.update)", str(figures.slack_updates)),
        (
            "Slack post rate / allowed (per s)",
            f"{figures.slack_post_rate:.1f} / {figures.slack_allowed_rate:.1f}",
        ),
        ("lost / duplicated", f"{figures.lost} / {figures.duplicated}"),
        (
            "drain after last webhook (s)",
            f"{figures.drain_seconds:.1f}"
            + ("" if figures.drained else f" (NOT drained: timeout {config.drain_timeout:g} s)"),
        ),
        ("outbox jobs left at the end", _left(figures.outbox_left)),
    ]
    if config.webhooks:
        rows += [
            (
                "webhook events received / expected",
                f"{figures.webhook_events} / {figures.webhook_expected}",
            ),
            (
                "webhook repeats (same id) / bad signatures",
                f"{figures.webhook_repeats} / {figures.webhook_bad_signatures}",
            ),
            (
                "missed call -> lead.created received p50 / p99 (ms)",
                ms(figures.webhook_created_ms, "p50", "p99"),
            ),
        ]
    if not figures.calls:
        rows = []  # --seconds 0: the idle measure alone, no load to report
    if figures.redis_commands_per_call is not None and figures.redis_bytes_per_call is not None:
        event = "missed call + reply" if config.replies else "missed call"
        rows.append(
            (
                f"Redis per {event}: commands / bytes",
                f"{figures.redis_commands_per_call:.1f} / {figures.redis_bytes_per_call:.0f}",
            )
        )
    if figures.redis_commands_by_name:
        by_name = figures.redis_commands_by_name
        rows.append(
            (
                "  by command (idle polling included)",
                ", ".join(f"{name} {count:g}" for name, count in by_name.items()),
            )
        )
    for name, usage in figures.processes.items():
        rows.append(
            (
                f"{name}: CPU s / idle MB / peak MB / MB at 1 min -> end",
                f"{usage['cpu_seconds']:.1f} / {usage['idle_rss_mb']:.0f}"
                f" / {usage['peak_rss_mb']:.0f}"
                f" / {usage.get('rss_at_1_min_mb', 0):.1f}"
                f" -> {usage.get('rss_at_end_mb', 0):.1f}",
            )
        )
    # Jobs still queued (card updates waiting on Slack's chat.update budget) keep the processes
    # working, so what follows the load is not the idle figure then.
    queued = sum(figures.outbox_left.values())
    idle_label = (
        f"Redis commands/s after the load, {queued} jobs queued"
        if queued
        else "idle Redis commands/s"
    )
    for name, by_command in figures.idle_commands.items():
        rows.append((f"{name}: {idle_label} (by command)", describe_rates(by_command)))
    rows.append(
        ("load generator + stand-ins: CPU s", f"{figures.rig_cpu_seconds:.1f}"),
    )
    if figures.redis_cpu_seconds is not None:
        rows.append(("redis-server: CPU s", f"{figures.redis_cpu_seconds:.1f}"))
    width = max(len(name) for name, _ in rows)
    header = (
        (
            f"load: {config.rate:g} calls/s for {config.seconds:g} s"
            if figures.calls
            else "idle only"
        )
        + ", stand-ins answer in "
        + f"{config.twilio_ms:g} ms (Twilio) / {config.slack_ms:g} ms (Slack)"
        + (f" / {config.webhook_ms:g} ms (webhooks)" if config.webhooks else "")
        + f", replies {'on' if config.replies else 'off'}, "
        f"workers {config.workers}"
        + (f", {config.lines} lines (LINES_FILE)" if config.lines > 1 else "")
        + f", webhooks {'on' if config.webhooks else 'off'}"
        + (f" (their worker at nice {config.webhooks_nice})" if config.webhooks_nice else "")
    )
    settings = describe_settings(figures.settings_changed)
    table_rows = [f"{name:<{width}}  {value}" for name, value in rows]
    return "\n".join([header, *settings, *table_rows])


def to_json(figures: Figures, config: LoadConfig) -> str:
    return json.dumps({"config": asdict(config), "figures": asdict(figures)}, indent=2)


def _left(kinds: dict[str, int]) -> str:
    if not kinds:
        return "0"
    return f"{sum(kinds.values())} (" + ", ".join(f"{k} {n}" for k, n in kinds.items()) + ")"
