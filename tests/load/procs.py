"""Real server and worker processes for the load run, and what they cost (CPU, peak memory)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp

if TYPE_CHECKING:
    from tests.standins import SlackStandIn, TwilioStandIn

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Proc:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    cpu_start: float = 0.0

    def cpu_seconds(self) -> float:
        """User + system CPU time so far, from /proc (no extra dependency)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed (a crash, an OOM kill)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)

    def stop(self, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return self.process.returncode


def spawn(
    name: str, command: str, env: dict[str, str], log_dir: Path, *args: str, nice: int = 0
) -> Proc:
    """nice: a lower CPU priority for the process (as `nice -n N python -m bot ...`)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    prefix = ["nice", "-n", str(nice)] if nice else []
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "bot", command, *args],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Proc(name=name, process=process, log=log)


def app_env(
    *,
    public_url: str,
    redis_url: str,
    prefix: str,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
    signing_secret: str,
    channel: str,
) -> dict[str, str]:
    """The settings a `python -m bot` process needs to run against the stand-ins, every day open."""
    return {
        "HOST": "127.0.0.1",
        "PUBLIC_URL": public_url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": prefix,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": signing_secret,
        "SLACK_CHANNEL_ID": channel,
        "SLACK_API_URL": slack.url,
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_API_URL": twilio.url,
        "BUSINESS_NAME": "Johnson Electric",
        "BUSINESS_HOURS": "Daily 00:00-24:00",
    }


async def wait_healthy(base: str, procs: Sequence[Proc], timeout: float = 60) -> None:
    """Until the server at base answers /healthz with 200; fail at once if any process exits."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            for proc in procs:
                if proc.process.poll() is not None:
                    tail = proc.log.read_text()[-2000:]
                    raise RuntimeError(f"{proc.name} exited (log {proc.log}): {tail}")
            try:
                async with http.get(base + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)  # polling a starting process
    raise RuntimeError(f"{base} never became healthy")
