"""A minimal W3C WebDriver client over aiohttp, for Debian's chromium + chromedriver.

Why not selenium: the browser tests need a few endpoints (new session, navigate, find, type,
click, read the page or an element's text, screenshot). aiohttp is already here; selenium
would add a large dependency (and its own driver manager that tries to download drivers) for
what is ~80 lines of HTTP.
"""

from __future__ import annotations

import asyncio
import base64
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from bot import local_redis
from tests.waiting import wait_until

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C element reference key
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def find_browser() -> tuple[str, str] | None:
    """(chromium, chromedriver) paths, or None when either is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


class WebDriverError(Exception):
    pass


class Session:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = base

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self.http.request(method, self.base + path, json=body) as response:
            data = await response.json()
        if response.status >= 400:
            raise WebDriverError(f"{method} {path}: {data.get('value')}")
        return data.get("value")

    async def go(self, url: str) -> None:
        await self._call("POST", "/url", {"url": url})

    async def find(self, css: str) -> str:
        found = await self._call("POST", "/element", {"using": "css selector", "value": css})
        if not isinstance(found, dict) or ELEMENT not in found:
            raise WebDriverError(f"find {css}: {found!r}")
        return str(found[ELEMENT])

    async def type(self, css: str, text: str) -> None:
        await self._call("POST", f"/element/{await self.find(css)}/value", {"text": text})

    async def click(self, css: str) -> None:
        await self._call("POST", f"/element/{await self.find(css)}/click", {})

    async def selected(self, css: str) -> bool:
        return bool(await self._call("GET", f"/element/{await self.find(css)}/selected"))

    async def text(self, css: str) -> str:
        """The rendered text of the first element matching `css` (as a person sees it)."""
        return str(await self._call("GET", f"/element/{await self.find(css)}/text"))

    async def source(self) -> str:
        return str(await self._call("GET", "/source"))

    async def title(self) -> str:
        return str(await self._call("GET", "/title"))

    async def screenshot(self) -> bytes:
        return base64.b64decode(await self._call("GET", "/screenshot"))


@asynccontextmanager
async def chromium(
    browser: str, driver: str, width: int = 390, height: int = 844
) -> AsyncIterator[Session]:
    """A fresh headless chromium at phone size (mobile emulation), closed afterwards."""
    port = local_redis.free_port()
    process = await asyncio.create_subprocess_exec(
        driver,
        f"--port={port}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    profile = tempfile.mkdtemp(prefix="textback-chromium-")
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:

            async def ready() -> bool:
                try:
                    async with http.get(f"{base}/status") as response:
                        return bool((await response.json())["value"]["ready"])
                except aiohttp.ClientError:
                    return False

            await wait_until(ready, timeout=60, interval=0.1, message="chromedriver not ready")
            options = {
                "binary": browser,
                "args": [*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"],
                "mobileEmulation": {
                    "deviceMetrics": {"width": width, "height": height, "pixelRatio": 1}
                },
            }
            capabilities = {"alwaysMatch": {"goog:chromeOptions": options}}
            async with http.post(f"{base}/session", json={"capabilities": capabilities}) as resp:
                created = await resp.json()
            if resp.status >= 400:
                raise WebDriverError(f"new session: {created.get('value')}")
            session_id = created["value"]["sessionId"]
            session = Session(http, f"{base}/session/{session_id}")
            try:
                yield session
            finally:
                async with http.delete(f"{base}/session/{session_id}"):
                    pass
    finally:
        process.terminate()
        await process.wait()
        shutil.rmtree(profile, ignore_errors=True)
