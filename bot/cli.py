"""`python -m bot serve | worker | consent export | outbox dead` (also the `textback` console
script)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from pathlib import Path
from typing import TextIO

from aiohttp import web

from bot import lines, local_redis
from bot.domain.jobs import QUEUES, Queue
from bot.flows import consent_export, dead_jobs
from bot.outbox.worker import Worker
from bot.services import DEFAULT_REDIS_URL, open_services
from bot.settings import Settings, SettingsError, load_settings
from storage import connection as redis_client
from storage.keys import Keys
from storage.outbox import Outbox

log = logging.getLogger("bot")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="textback", description="Missed-call text-back for Slack")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the web server (and a worker, unless RUN_WORKER=false)")
    worker = commands.add_parser("worker", help="run an outbox worker only (for scaling out)")
    worker.add_argument(
        "--queues",
        default=",".join(QUEUES),
        help="which queues to work (default: sms,slack); a worker of its own for sms keeps "
        "texts on time whatever Slack is doing",
    )
    _add_consent_commands(commands)
    _add_outbox_commands(commands)
    args = parser.parse_args(argv)
    queues = _queues(parser, getattr(args, "queues", ",".join(QUEUES)))
    if args.command == "outbox" and args.limit < 1:
        parser.error("--limit takes a number of jobs, 1 or more")
    since = None
    if args.command == "consent":
        try:
            since = consent_export.parse_since(args.since) if args.since else None
        except ValueError as exc:
            parser.error(str(exc))

    try:
        settings = load_settings()
        lines.load(settings)  # a bad LINES_FILE stops every command here, before anything runs
    except (SettingsError, lines.LinesError) as exc:
        print(exc, file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    redis_process = _ensure_redis(settings)
    try:
        if args.command == "serve":
            # Bolt and the handlers: a worker never needs them.
            from bot.app import ACCESS_LOGGER, create_app

            app = create_app(settings)
            _freeze_startup()
            web.run_app(
                app,
                host=settings.host,
                port=settings.port,
                print=None,
                access_log_class=ACCESS_LOGGER,
            )
        elif args.command == "outbox":
            asyncio.run(_dead_jobs(settings, args.retry, args.limit))
        elif args.command == "consent":
            if args.output:
                with open(args.output, "w", newline="", encoding="utf-8") as out:
                    asyncio.run(_export(settings, args.format, since, out))
            else:
                asyncio.run(_export(settings, args.format, since, sys.stdout))
        else:
            asyncio.run(_run_worker(settings, queues))
    finally:
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(timeout=10)
    return 0


def _freeze_startup() -> None:
    """What startup made (modules, Bolt, the clients: about 80,000 objects) leaves the cyclic
    collector's sight for good: its full collections then scan only what serving made, not the
    20 ms of startup objects that otherwise showed in the latency tail under a burst."""
    gc.collect()
    gc.freeze()


def _ensure_redis(settings: Settings) -> local_redis.subprocess.Popen[bytes] | None:
    """No REDIS_URL and nothing at the default address: start our own, so a first run just works."""
    if settings.redis_url:
        return None
    if local_redis.answers("127.0.0.1", 6379):
        settings.redis_url = DEFAULT_REDIS_URL
        return None
    data_dir = Path(settings.data_dir) / "redis"
    port = local_redis.free_port()
    process = local_redis.start(port, data_dir)
    settings.redis_url = f"redis://127.0.0.1:{port}/0"
    log.warning(
        "REDIS_URL not set and no Redis at localhost:6379: started a local server on port %d, "
        "data in %s. Set REDIS_URL to use a shared Redis.",
        port,
        data_dir,
    )
    return process


def _add_consent_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    consent = commands.add_parser("consent", help="the consent ledger")
    actions = consent.add_subparsers(dest="consent_command", required=True)
    export = actions.add_parser("export", help="write every number's consent history")
    export.add_argument("--since", help="only entries from this date (2026-11-01, UTC) on")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--output", help="write to this file instead of stdout")


def _add_outbox_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    outbox = commands.add_parser("outbox", help="the outbox's jobs")
    actions = outbox.add_subparsers(dest="outbox_command", required=True)
    dead = actions.add_parser("dead", help="list the jobs it buried (numbers masked)")
    dead.add_argument("--retry", action="store_true", help="put them back on their queues")
    dead.add_argument("--limit", type=int, default=100, help="the newest this many (100)")


async def _dead_jobs(settings: Settings, requeue: bool, limit: int) -> None:
    redis = redis_client.connect(settings.redis_url or DEFAULT_REDIS_URL)
    outbox = Outbox(redis, Keys(settings.redis_key_prefix))
    try:
        if requeue:
            await dead_jobs.retry(outbox, sys.stdout, sys.stderr, limit)
        else:
            await dead_jobs.show(outbox, sys.stdout, limit)
    finally:
        await redis.aclose()


async def _export(
    settings: Settings, fmt: consent_export.Format, since: float | None, out: TextIO
) -> None:
    redis = redis_client.connect(settings.redis_url or DEFAULT_REDIS_URL)
    keys = Keys(settings.redis_key_prefix)
    try:
        await consent_export.export(redis, keys, out, fmt=fmt, since=since)
    finally:
        await redis.aclose()


def _queues(parser: argparse.ArgumentParser, text: str) -> tuple[Queue, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in chosen if name not in QUEUES]
    if unknown or not chosen:
        parser.error(f"--queues takes a comma-separated subset of {', '.join(QUEUES)}")
    return tuple(queue for queue in QUEUES if queue in chosen)


async def _run_worker(settings: Settings, queues: tuple[Queue, ...]) -> None:
    """A worker without the web server, for scaling out; SIGTERM finishes in-flight jobs."""
    async with open_services(settings) as services:
        worker = Worker(services, queues=queues)
        _freeze_startup()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        task = asyncio.create_task(worker.run())
        await stop.wait()
        await worker.shutdown(task)


if __name__ == "__main__":
    raise SystemExit(main())
