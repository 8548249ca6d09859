"""What each dependency costs in resident memory, and the idle RSS of real processes.

    python -m tests.memory_by_dependency [--settle-seconds 5]

Starts `python -m bot serve` (with its inline worker, as the Procfile's web process) and
`python -m bot worker` against the loopback stand-ins and a private Redis, with Python's import
log on (-X importtime: it prints each import as it happens and keeps nothing). Once both have
been idle for --settle-seconds it reads their resident memory (VmRSS), then, in a fresh
interpreter, imports the modules those processes loaded, one dependency after the other, reading
VmRSS after each: the interpreter, the standard library parts used, aiohttp, phonenumbers,
pydantic, redis, twilio, slack_sdk, emoji, prometheus_client, slack_bolt, our own code. A
dependency's own helpers count with it (yarl with aiohttp, requests with twilio); a module two
dependencies share counts with the first. Exits 1 if a process is over LIMIT_MB.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from bot import local_redis
from tests.load.procs import Proc, app_env, spawn, wait_healthy
from tests.standins import SlackStandIn, TwilioStandIn

LIMIT_MB = 90.0

# Each dependency with the helpers it brings (top-level module names), in the order measured.
DEPENDENCIES: list[tuple[str, set[str]]] = [
    (
        "aiohttp",
        {
            "aiohttp",
            "multidict",
            "yarl",
            "propcache",
            "frozenlist",
            "aiosignal",
            "aiohappyeyeballs",
            "attr",
            "attrs",
            "idna",
            "typing_extensions",
        },
    ),
    ("phonenumbers", {"phonenumbers"}),
    (
        "pydantic",
        {
            "pydantic",
            "pydantic_core",
            "pydantic_settings",
            "annotated_types",
            "typing_inspection",
            "dotenv",
        },
    ),
    ("redis", {"redis", "hiredis"}),
    (
        "twilio",
        {"twilio", "requests", "urllib3", "certifi", "charset_normalizer", "jwt", "aiohttp_retry"},
    ),
    ("slack_sdk", {"slack_sdk", "slack"}),
    ("emoji", {"emoji"}),
    ("prometheus_client", {"prometheus_client"}),
    ("slack_bolt", {"slack_bolt"}),
    ("our own code", {"bot", "handlers", "storage"}),
]
STDLIB = "standard library parts used"
OTHER = "other"

# Run in the fresh interpreter: reads "group<TAB>module" lines, imports each, and prints
# "group<TAB>VmRSS kB" after each group; its first line is the bare interpreter. It imports
# nothing of its own beyond sys, so the figures are the modules'.
MEASURE = r"""
import sys
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return line.split()[1]
print("interpreter\t" + rss(), flush=True)
groups = {}
for line in sys.stdin.read().splitlines():
    group, name = line.split("\t")
    groups.setdefault(group, []).append(name)
for group, names in groups.items():
    for name in names:
        try:
            __import__(name)
        except ModuleNotFoundError:
            print("missing\t" + name, flush=True)  # an optional import, missing there too
        except Exception as error:
            print("failed\t" + name + " " + repr(error), flush=True)
    print(group + "\t" + rss(), flush=True)
"""


def imported_modules(log: str) -> list[str]:
    """Module names from `-X importtime` output, in the order their imports finished."""
    names = []
    for line in log.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        name = line.rsplit("|", 1)[1].strip()
        if "__main__" not in name:
            names.append(name)
    return list(dict.fromkeys(names))


def group_of(name: str) -> str:
    top = name.split(".", 1)[0]
    for group, tops in DEPENDENCIES:
        if top in tops:
            return group
    if top in sys.stdlib_module_names:
        return STDLIB
    return OTHER


def grouped(names: Iterable[str]) -> list[tuple[str, str]]:
    """(group, module) in the order measured: the standard library first, then each dependency."""
    order = [STDLIB] + [group for group, _ in DEPENDENCIES] + [OTHER]
    pairs = [(group_of(name), name) for name in names]
    return sorted(pairs, key=lambda pair: order.index(pair[0]))  # stable: import order kept


def measure_imports(
    pairs: list[tuple[str, str]],
) -> tuple[list[tuple[str, float]], list[str], set[str]]:
    """[(group, MB it added)] from a fresh interpreter, the modules that failed to import, and
    those not installed (optional imports the processes tried, which failed there too)."""
    stdin = "".join(f"{group}\t{name}\n" for group, name in pairs)
    done = subprocess.run(
        [sys.executable, "-c", MEASURE], input=stdin, capture_output=True, text=True, check=True
    )
    costs: list[tuple[str, float]] = []
    failed: list[str] = []
    missing: set[str] = set()
    previous = 0.0
    for line in done.stdout.splitlines():
        group, value = line.split("\t", 1)
        if group == "failed":
            failed.append(value)
            continue
        if group == "missing":
            missing.add(value)
            continue
        rss = int(value) / 1024
        costs.append((group, rss - previous))
        previous = rss
    return costs, failed, missing


async def idle_processes(settle_seconds: float) -> tuple[dict[str, float], list[str]]:
    """{process: idle VmRSS MB} of a real serve and worker, and the modules they imported."""
    redis_port = local_redis.free_port()
    redis = local_redis.start(redis_port, None, persist=False)
    log_dir = Path(tempfile.mkdtemp(prefix="textback-memory-"))
    procs: list[Proc] = []
    try:
        async with SlackStandIn() as slack, TwilioStandIn() as twilio:
            port = local_redis.free_port()
            env = {
                **app_env(
                    public_url="https://textback.memory.test",
                    redis_url=f"redis://127.0.0.1:{redis_port}/0",
                    prefix="tbmemory",
                    slack=slack,
                    twilio=twilio,
                    signing_secret="memory-signing-secret",
                    channel="C0MEMORY",
                ),
                "PORT": str(port),
                "LOG_LEVEL": "WARNING",
                "PYTHONPROFILEIMPORTTIME": "1",  # the import log: which modules each one loads
            }
            procs = [spawn("serve", "serve", env, log_dir), spawn("worker", "worker", env, log_dir)]
            await wait_healthy(f"http://127.0.0.1:{port}", procs, timeout=60)
            # A quiet spell, not synchronisation: pools and first polls settle before the reading.
            await asyncio.sleep(settle_seconds)
            rss = {proc.name: proc.rss_mb() for proc in procs}
    finally:
        for proc in procs:
            proc.stop()
        redis.terminate()
        redis.wait(timeout=10)
    names = [name for proc in procs for name in imported_modules(proc.log.read_text())]
    return rss, list(dict.fromkeys(names))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.memory_by_dependency")
    parser.add_argument("--settle-seconds", type=float, default=5.0, help="idle before reading")
    args = parser.parse_args()
    rss, names = asyncio.run(idle_processes(args.settle_seconds))
    costs, failed, missing = measure_imports(grouped(names))
    rows = [(group, f"{mb:5.1f}") for group, mb in costs]
    rows.append(("total", f"{sum(mb for _, mb in costs):5.1f}"))
    over = []
    for name, mb in rss.items():
        label = f"idle `{name}` process ({args.settle_seconds:g} s after healthy)"
        rows.append((label, f"{mb:5.1f}"))
        if mb > LIMIT_MB:
            over.append(name)
    title = "resident memory, imported one after the other"
    width = max(len(title), *(len(label) for label, _ in rows))
    print(f"{title:<{width}}     MB")
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    others = sorted(
        {name.split(".")[0] for name in names if group_of(name) == OTHER and name not in missing}
    )
    print(f"({OTHER}: {', '.join(others) or 'none'})")
    for failure in failed:
        print(f"(could not import again alone: {failure})", file=sys.stderr)
    for name in over:
        print(f"{name}: over {LIMIT_MB:g} MB", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
