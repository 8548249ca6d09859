"""`python -m tests.load --rate 200 --seconds 60 [--replies] [--webhooks] [--latency 0.15]
[--json FILE]`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from tests.load.run import LoadConfig, run, table, to_json


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.load", description=__doc__)
    parser.add_argument("--rate", type=float, default=200.0, help="missed calls per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to fire")
    parser.add_argument("--replies", action="store_true", help="each caller also texts back")
    parser.add_argument("--latency", type=float, default=0.150, help="stand-in latency, s")
    parser.add_argument(
        "--slack-rate",
        type=float,
        default=None,
        help="posts/s/channel the Slack stand-in allows (default 1.5 x rate)",
    )
    parser.add_argument("--concurrency", type=int, default=64, help="WORKER_CONCURRENCY")
    parser.add_argument("--redis-url", default=None, help="default: localhost:6379 db 12 or own")
    parser.add_argument(
        "--own-redis",
        action="store_true",
        help="start a private Redis and report commands and bytes per call",
    )
    parser.add_argument(
        "--workers",
        choices=("split", "one", "inline"),
        default="split",
        help="split: an sms and a slack worker (default); one: one worker for both queues;"
        " inline: serve runs the worker itself",
    )
    parser.add_argument(
        "--lines", type=int, default=1, help="spread callers over this many lines (LINES_FILE)"
    )
    parser.add_argument(
        "--webhooks",
        action="store_true",
        help="turn outbound webhooks on, to a loopback receiver adding --latency",
    )
    parser.add_argument(
        "--webhooks-nice",
        type=int,
        default=0,
        help="run the webhooks worker at this lower CPU priority (nice), --workers split only",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    if args.rate <= 0 or args.seconds <= 0:
        parser.error("--rate and --seconds must be positive")
    if not 1 <= args.lines <= 100:
        parser.error("--lines takes 1 to 100")
    config = LoadConfig(
        rate=args.rate,
        seconds=args.seconds,
        replies=args.replies,
        latency=args.latency,
        slack_rate=args.slack_rate,
        concurrency=args.concurrency,
        redis_url=args.redis_url,
        own_redis=args.own_redis,
        workers=args.workers,
        lines=args.lines,
        webhooks=args.webhooks,
        webhooks_nice=args.webhooks_nice,
    )
    figures = asyncio.run(run(config, progress=lambda line: print(line, file=sys.stderr)))
    print(table(figures, config))
    if args.json:
        args.json.write_text(to_json(figures, config))
        print(f"figures written to {args.json}", file=sys.stderr)
    return 0 if figures.lost == 0 and figures.duplicated == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
