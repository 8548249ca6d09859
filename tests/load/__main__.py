"""`python -m tests.load --rate 200 --seconds 60 [--replies] [--webhooks] [--twilio-ms 150]
[--slack-ms 150] [--set NAME=VALUE ...] [--workers procfile] [--idle-seconds 10] [--json FILE]`.

Runs on the product's defaults: it sets only what the stand-ins need, and prints every setting it
passes that differs from a default.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from tests.load.changes import WORKER_LAYOUTS, parse_overrides
from tests.load.run import LoadConfig, run, table, to_json


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.load", description=__doc__)
    parser.add_argument("--rate", type=float, default=200.0, help="missed calls per second")
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="how long to fire (0: only the idle measure)"
    )
    parser.add_argument("--replies", action="store_true", help="each caller also texts back")
    parser.add_argument("--twilio-ms", type=float, default=150.0, help="Twilio stand-in latency")
    parser.add_argument("--slack-ms", type=float, default=150.0, help="Slack stand-in latency")
    parser.add_argument(
        "--webhook-ms", type=float, default=150.0, help="outbound webhooks' receiver latency"
    )
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="pass this setting to every process (repeatable); the table's header lists it",
    )
    parser.add_argument(
        "--slack-rate",
        type=float,
        default=None,
        help="posts/s/channel the Slack stand-in allows (default 1.5 x the posts the run needs)",
    )
    parser.add_argument("--redis-url", default=None, help="default: localhost:6379 db 12 or own")
    parser.add_argument(
        "--own-redis",
        action="store_true",
        help="start a private Redis and report commands and bytes per call",
    )
    parser.add_argument(
        "--workers",
        choices=WORKER_LAYOUTS,
        default="procfile",
        help="procfile: serve with its own worker plus one worker, as the Procfile (default);"
        " split: serve without a worker, a worker per queue; one: serve without a worker, one"
        " worker for every queue; inline: serve alone",
    )
    parser.add_argument(
        "--lines", type=int, default=1, help="spread callers over this many lines (LINES_FILE)"
    )
    parser.add_argument(
        "--webhooks",
        action="store_true",
        help="turn outbound webhooks on, to a loopback receiver adding --webhook-ms",
    )
    parser.add_argument(
        "--webhooks-nice",
        type=int,
        default=0,
        help="run the webhooks worker at this lower CPU priority (nice), --workers split only",
    )
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=10.0,
        help="after the load, watch each process's Redis commands this long (0: skip)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    # Deprecated: they hid what a user runs (--concurrency 64 against a default of 8).
    parser.add_argument("--latency", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=None, help=argparse.SUPPRESS)
    return parser


def config_from(args: argparse.Namespace, parser: argparse.ArgumentParser) -> LoadConfig:
    if args.rate <= 0 or args.seconds < 0 or args.idle_seconds < 0:
        parser.error("--rate must be positive, --seconds and --idle-seconds not negative")
    if not 1 <= args.lines <= 100:
        parser.error("--lines takes 1 to 100")
    if args.webhooks_nice and args.workers != "split":
        parser.error("--webhooks-nice needs --workers split (the webhooks' worker of their own)")
    settings = list(args.settings)
    if args.concurrency is not None:
        warn(f"--concurrency is deprecated: use --set WORKER_CONCURRENCY={args.concurrency}")
        settings.insert(0, f"WORKER_CONCURRENCY={args.concurrency}")
    if args.latency is not None:
        ms = args.latency * 1000
        warn(
            f"--latency is deprecated: use --twilio-ms {ms:g} --slack-ms {ms:g} --webhook-ms {ms:g}"
        )
        args.twilio_ms = args.slack_ms = args.webhook_ms = ms
    try:
        overrides = parse_overrides(settings)
    except ValueError as error:
        parser.error(str(error))
    return LoadConfig(
        rate=args.rate,
        seconds=args.seconds,
        replies=args.replies,
        twilio_ms=args.twilio_ms,
        slack_ms=args.slack_ms,
        webhook_ms=args.webhook_ms,
        slack_rate=args.slack_rate,
        settings=overrides,
        redis_url=args.redis_url,
        own_redis=args.own_redis,
        workers=args.workers,
        lines=args.lines,
        webhooks=args.webhooks,
        webhooks_nice=args.webhooks_nice,
        idle_seconds=args.idle_seconds,
    )


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main() -> int:
    arguments = parser()
    args = arguments.parse_args()
    config = config_from(args, arguments)
    figures = asyncio.run(run(config, progress=lambda line: print(line, file=sys.stderr)))
    print(table(figures, config))
    if args.json:
        args.json.write_text(to_json(figures, config))
        print(f"figures written to {args.json}", file=sys.stderr)
    return 0 if figures.lost == 0 and figures.duplicated == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
