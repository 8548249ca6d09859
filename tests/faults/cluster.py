"""The service as real processes (`python -m bot serve` / `worker`) against the stand-ins.

The stand-ins run in the test process, so a test changes their faults while the processes run;
processes are started, killed and restarted by name.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from bot import local_redis
from tests.load.procs import Proc, app_env, spawn, wait_healthy
from tests.standins import SlackStandIn, TwilioStandIn

PUBLIC_URL = "https://textback.faults.test"
BUSINESS_NUMBER = "+12125550100"
CHANNEL = "C0FAULTS"
SIGNING_SECRET = "faults-signing-secret"
RECLAIM_SECONDS = 3  # a killed worker's jobs are taken over this soon (30 s in production)


class Cluster:
    """Web and worker processes sharing one Redis prefix; `webs` are their base URLs."""

    def __init__(
        self,
        redis_url: str,
        prefix: str,
        slack: SlackStandIn,
        twilio: TwilioStandIn,
        **settings: str,
    ) -> None:
        self.slack = slack
        self.twilio = twilio
        self.redis_url = redis_url
        self.prefix = prefix
        self.log_dir = Path(tempfile.mkdtemp(prefix="textback-faults-"))
        self.procs: dict[str, Proc] = {}
        self.ports: dict[str, int] = {}
        self.env = {
            **app_env(
                public_url=PUBLIC_URL,
                redis_url=redis_url,
                prefix=prefix,
                slack=slack,
                twilio=twilio,
                signing_secret=SIGNING_SECRET,
                channel=CHANNEL,
            ),
            "RUN_WORKER": "false",
            "WEEKLY_DIGEST": "false",
            "WORKER_CONCURRENCY": "16",
            "WORKER_RECLAIM_SECONDS": str(RECLAIM_SECONDS),
            "SLACK_POSTS_PER_SECOND": "100",
            "SLACK_UPDATES_PER_SECOND": "100",
            # Crew replies wait out a short undo window: held jobs ride through the faults too.
            "REPLY_UNDO_SECONDS": "1",
            "LOG_LEVEL": "WARNING",
            **settings,
        }

    def base(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def webs(self) -> list[str]:
        return [self.base(name) for name in self.ports if self.procs[name].process.poll() is None]

    async def start_web(self, name: str, **settings: str) -> Proc:
        port = self.ports.get(name) or local_redis.free_port()
        self.ports[name] = port
        env = {**self.env, "PORT": str(port), **settings}
        proc = spawn(name, "serve", env, self.log_dir)
        self.procs[name] = proc
        await wait_healthy(self.base(name), [proc])
        return proc

    async def start_worker(self, name: str, queues: str = "sms,slack") -> Proc:
        # INFO: the worker's "worker started" line is how we know it reads the queues.
        env = {**self.env, "LOG_LEVEL": "INFO"}
        proc = spawn(name, "worker", env, self.log_dir, "--queues", queues)
        self.procs[name] = proc
        await _started(proc)
        return proc

    def kill(self, name: str) -> None:
        self.procs[name].kill()

    def terminate(self, name: str, timeout: float = 30) -> float:
        """SIGTERM and wait: seconds until the process was gone."""
        started = time.monotonic()
        self.procs[name].stop(timeout=timeout)
        return time.monotonic() - started

    def logs(self, names: Sequence[str] | None = None) -> str:
        chosen = names or list(self.procs)
        return "\n".join(f"--- {n}\n{self.procs[n].log.read_text()[-3000:]}" for n in chosen)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for proc in self.procs.values():
            proc.stop(timeout=15)


async def _started(proc: Proc, timeout: float = 60) -> None:
    """A worker has no port: it is up once its log says it started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.process.poll() is not None:
            raise RuntimeError(f"{proc.name} exited: {proc.log.read_text()[-2000:]}")
        if "worker started" in proc.log.read_text():
            return
        await asyncio.sleep(0.1)  # polling a starting process
    raise RuntimeError(f"{proc.name} did not start")
