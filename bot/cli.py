"""`python -m bot serve | worker | consent export | leads export | webhook secret` (also the
`textback` console script)."""

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

from bot import local_redis
from bot.domain import webhooks
from bot.domain.jobs import QUEUES, Queue
from bot.flows import consent_export, leads_export
from bot.lines import Lines, default_line
from bot.outbox import webhooks as webhook_work
from bot.outbox.worker import Worker
from bot.services import DEFAULT_REDIS_URL, open_services
from bot.settings import Settings, SettingsError, load_settings
from storage import connection as redis_client
from storage.keys import Keys

log = logging.getLogger("bot")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="textback", description="Missed-call text-back for Slack")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the web server (and a worker, unless RUN_WORKER=false)")
    worker = commands.add_parser("worker", help="run an outbox worker only (for scaling out)")
    worker.add_argument(
        "--queues",
        default=",".join(QUEUES),
        help=f"which queues to work (default: {','.join(QUEUES)}); a worker of its own for sms "
        "keeps texts on time whatever Slack or a webhook receiver is doing",
    )
    _add_consent_commands(commands)
    _add_leads_commands(commands)
    _add_webhook_commands(commands)
    args = parser.parse_args(argv)
    if args.command == "webhook":
        # Needs no settings: a secret to put in WEBHOOK_SECRET (and give the receivers).
        print(webhooks.new_secret())
        return 0
    queues = _queues(parser, getattr(args, "queues", ",".join(QUEUES)))
    since = None
    if args.command in ("consent", "leads"):
        try:
            since = consent_export.parse_since(args.since) if args.since else None
        except ValueError as exc:
            parser.error(str(exc))

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    redis_process = _ensure_redis(settings)
    try:
        if args.command == "serve":
            from bot.app import create_app  # Bolt and the handlers: a worker never needs them

            app = create_app(settings)
            _freeze_startup()
            web.run_app(app, host=settings.host, port=settings.port, print=None)
        elif args.command == "consent":
            if args.output:
                with open(args.output, "w", newline="", encoding="utf-8") as out:
                    asyncio.run(_export(settings, args.format, since, out))
            else:
                asyncio.run(_export(settings, args.format, since, sys.stdout))
        elif args.command == "leads":
            try:
                leads_export.check_line(Lines(default_line(settings)), args.line)
            except leads_export.UnknownLine as exc:
                parser.error(str(exc))
            if args.output:
                with open(args.output, "w", newline="", encoding="utf-8") as out:
                    asyncio.run(_leads_export(settings, args.format, since, args.line, out))
            else:
                asyncio.run(_leads_export(settings, args.format, since, args.line, sys.stdout))
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


def _add_leads_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    leads = commands.add_parser("leads", help="the leads")
    actions = leads.add_subparsers(dest="leads_command", required=True)
    export = actions.add_parser("export", help="write one row per lead (for a spreadsheet or CRM)")
    export.add_argument("--since", help="only leads opened from this date (2026-11-01, UTC) on")
    export.add_argument("--line", help="only this line's leads")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--output", help="write to this file instead of stdout")


async def _leads_export(
    settings: Settings,
    fmt: leads_export.Format,
    since: float | None,
    line: str | None,
    out: TextIO,
) -> None:
    async with open_services(settings) as services:
        records = await leads_export.read(services, since=since, line=line)
        # Names and links from Slack (cached for a day); without Slack, ids and no links.
        names = await webhook_work.slack_names(services, leads_export.people(records))
        workspace = await webhook_work.workspace_url(services) if records else None
        if records and workspace is None:
            print("leads export: Slack did not answer: no thread links", file=sys.stderr)
        leads_export.write(services, records, out, fmt=fmt, names=names, workspace_url=workspace)


def _add_webhook_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    webhook = commands.add_parser("webhook", help="outbound webhooks")
    actions = webhook.add_subparsers(dest="webhook_command", required=True)
    actions.add_parser("secret", help="print a fresh WEBHOOK_SECRET (whsec_...)")


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
