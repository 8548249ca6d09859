"""The intake page in a real headless browser (Debian's chromium) against the running app."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import CALLER, PUBLIC_URL, Harness, cards, thread
from tests.waiting import wait_until
from tests.webdriver import chromium, find_browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
FOUND = find_browser()

pytestmark = pytest.mark.skipif(
    FOUND is None,
    reason="no chromium + chromedriver on PATH (Debian: apt-get install chromium chromium-driver; "
    ".ci/run installs them when it can)",
)


async def test_caller_fills_the_intake_page_in_a_browser_and_the_card_lands_in_slack(
    harness: Harness,
) -> None:
    assert FOUND is not None
    await harness.missed_call()
    await harness.drained()
    (sent,) = harness.twilio.messages_to(CALLER)
    link = re.search(r"https://\S+/i/[\w-]+", sent["Body"])
    assert link is not None and link.group(0).startswith(PUBLIC_URL)
    # The text links PUBLIC_URL; the browser reaches the same path on the test server.
    url = str(harness.client.make_url(link.group(0).removeprefix(PUBLIC_URL)))

    async with chromium(*FOUND) as browser:
        await browser.go(url)
        assert await browser.title() == "Tell us what you need · Johnson Electric"
        assert not await browser.selected("#consent")
        await browser.type("#need", "Panel buzzing <loud> & warm")
        await browser.type("#name", "Dana Smith")
        await browser.type("#address", "12 Garrity Blvd")
        await browser.type("#best_time", "after 4pm")
        await browser.type("#consent", " ")  # ticked from the keyboard: focus + space
        assert await browser.selected("#consent")
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "intake-page.png"
        png = await browser.screenshot()
        shot.write_bytes(png)
        assert png.startswith(b"\x89PNG")
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert (width, height) == (390, 844)
        print(f"intake page screenshot: {shot}")
        await browser.click("button[type=submit]")

        async def thanked() -> bool:
            return "Thanks, we got it." in await browser.source()

        await wait_until(thanked, timeout=30, message="no thank-you page")
        (ARTIFACTS / "intake-thanks.png").write_bytes(await browser.screenshot())

    await harness.drained()
    (card,) = cards(harness)
    (intake_card,) = [t for t in thread(harness, card["ts"]) if "Intake form" in t]
    assert "*Name:* Dana Smith" in intake_card
    assert ">Panel buzzing &lt;loud&gt; &amp; warm" in intake_card
    assert "*Consent to texts:* yes" in intake_card
    entries = await harness.services.ledger.history(CALLER)
    (explicit,) = [e for e in entries if e.event == "explicit_consent"]
    assert "Chrome" in explicit.detail["user_agent"]
