"""`python -m bot serve | worker | doctor | setup twilio | consent export | leads export |
exclude import | outbox dead | webhook secret | demo` (also the `textback` console script)."""

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
from bot.doctor import command
from bot.domain import contacts, webhooks
from bot.domain.jobs import QUEUES, Queue
from bot.flows import consent_export, dead_jobs, exclusions_import, leads_export
from bot.outbox import webhooks as webhook_work
from bot.outbox.worker import Worker
from bot.services import DEFAULT_REDIS_URL, open_services
from bot.settings import Settings, SettingsError, load_settings
from storage import connection as redis_client
from storage.callers import Callers
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
        help=f"which queues to work (default: {','.join(QUEUES)}); a worker of its own for sms "
        "keeps texts on time whatever Slack or a webhook receiver is doing",
    )
    _add_consent_commands(commands)
    _add_leads_commands(commands)
    _add_webhook_commands(commands)
    _add_exclude_commands(commands)
    _add_setup_commands(commands)
    _add_outbox_commands(commands)
    demo = commands.add_parser(
        "demo",
        help="try it with no accounts: the real server against simulated Twilio and Slack, "
        "both ends in a browser page (needs no settings, ignores .env and REDIS_URL)",
    )
    demo.add_argument("--port", type=_port, default=3000, help="where the page is (default 3000)")
    args = parser.parse_args(argv)
    if args.command == "webhook":
        # Needs no settings: a secret to put in WEBHOOK_SECRET (and give the receivers).
        print(webhooks.new_secret())
        return 0
    if args.command == "demo":
        from bot.demo import run as demo_run  # the simulators: only the demo needs them

        return demo_run.main(args.port)
    queues = _queues(parser, getattr(args, "queues", ",".join(QUEUES)))
    if args.command == "outbox" and args.limit < 1:
        parser.error("--limit takes a number of jobs, 1 or more")
    since = None
    if args.command in ("consent", "leads"):
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
    if args.command in ("doctor", "setup"):
        return _check(settings, args)
    if args.command == "leads":
        try:
            leads_export.check_line(lines.Lines.from_settings(settings), args.line)
        except leads_export.UnknownLine as exc:
            parser.error(str(exc))
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
        elif args.command == "exclude":
            return _import_exclusions(settings, Path(args.file))
        elif args.command == "consent":
            if args.output:
                with open(args.output, "w", newline="", encoding="utf-8") as out:
                    asyncio.run(_export(settings, args.format, since, out))
            else:
                asyncio.run(_export(settings, args.format, since, sys.stdout))
        elif args.command == "leads":
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


def _add_setup_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = commands.add_parser(
        "doctor", help="check the settings against Slack, Twilio, Redis and PUBLIC_URL"
    )
    doctor.add_argument(
        "--timeout",
        type=float,
        default=command.DEFAULT_TIMEOUT,
        help="seconds each service may take to answer (default: %(default)g)",
    )
    setup = commands.add_parser("setup", help="configure a service for this deployment")
    services = setup.add_subparsers(dest="service", required=True)
    twilio = services.add_parser(
        "twilio", help="point every line's Twilio numbers at PUBLIC_URL (dry run by default)"
    )
    twilio.add_argument("--apply", action="store_true", help="make the changes shown")
    twilio.add_argument(
        "--messaging-service",
        action="store_true",
        help="also set a Messaging Service that takes a number's texts to defer to the "
        "number's own webhook (it shows the service's other numbers first)",
    )


def _check(settings: Settings, args: argparse.Namespace) -> int:
    """doctor and setup twilio: they never start a Redis of their own."""
    if args.command == "doctor":
        redis_url = settings.redis_url
        if redis_url is None and local_redis.answers("127.0.0.1", 6379):
            redis_url = DEFAULT_REDIS_URL
        return asyncio.run(
            command.doctor(
                settings, redis_url, seconds=args.timeout, out=sys.stdout, progress=sys.stderr
            )
        )
    return asyncio.run(
        command.setup_twilio(
            settings, apply=args.apply, messaging_service=args.messaging_service, out=sys.stdout
        )
    )


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


def _add_exclude_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    exclude = commands.add_parser("exclude", help="the exclusion list (numbers never auto-texted)")
    actions = exclude.add_subparsers(dest="exclude_command", required=True)
    bulk = actions.add_parser(
        "import",
        help="add every number of a contact list: a CSV (a column of numbers, optionally a "
        "header row and a note or name column) or a vCard file (.vcf) a phone exports",
    )
    bulk.add_argument("file", help="the CSV or .vcf file")


def _import_exclusions(settings: Settings, path: Path) -> int:
    """Reads the file, saves its numbers (progress on stderr), prints the report on stdout."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        print(f"exclude import: cannot read {path} ({exc.strerror})", file=sys.stderr)
        return 2
    try:
        found = contacts.read(_decode(raw, path), path.name)
    except contacts.ContactsError as exc:
        print(f"exclude import: {path}: {exc}", file=sys.stderr)
        return 2
    print(
        f"exclude import: read {len(found.contacts)} numbers from {found.rows} "
        f"{'contacts' if found.kind == 'vCard' else 'rows'} of {path.name}",
        file=sys.stderr,
    )
    report = asyncio.run(_save_exclusions(settings, found))
    print(exclusions_import.render(report, path.name))
    return 0


async def _save_exclusions(
    settings: Settings, found: contacts.ContactList
) -> exclusions_import.ImportReport:
    redis = redis_client.connect(settings.redis_url or DEFAULT_REDIS_URL)
    try:
        callers = Callers(redis, Keys(settings.redis_key_prefix))
        return await exclusions_import.import_contacts(
            callers, found, lambda text: print(text, file=sys.stderr)
        )
    finally:
        await redis.aclose()


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


def _decode(raw: bytes, path: Path) -> str:
    """UTF-8 (with or without a BOM), UTF-16 with a BOM (Excel's "Unicode text"), else
    Windows-1252 (Excel's CSV on Windows), which reads any byte."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        print(f"exclude import: {path.name} is not UTF-8; read as Windows-1252", file=sys.stderr)
        return raw.decode("cp1252", errors="replace")


async def _export(
    settings: Settings, fmt: consent_export.Format, since: float | None, out: TextIO
) -> None:
    redis = redis_client.connect(settings.redis_url or DEFAULT_REDIS_URL)
    keys = Keys(settings.redis_key_prefix)
    try:
        await consent_export.export(redis, keys, out, fmt=fmt, since=since)
    finally:
        await redis.aclose()


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError("a port is 1 to 65535")
    return port


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
