"""The demo page in a real headless browser (Debian's chromium): the whole loop, clicked and
typed as a person would, with screenshots at desktop and phone width in test-artifacts/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.demo.sandbox import Sandbox
from tests.demo_helpers import running_demo
from tests.waiting import wait_until
from tests.webdriver import Session, WebDriverError, chromium, find_browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
FOUND = find_browser()
CARD = "#channel article.lead"

pytestmark = pytest.mark.skipif(
    FOUND is None,
    reason="no chromium + chromedriver on PATH (Debian: apt-get install chromium chromium-driver; "
    ".ci/run installs them when it can)",
)


@pytest.fixture
async def demo(
    redis: Redis, redis_url: str, key_prefix: str, tmp_path: Path
) -> AsyncIterator[Sandbox]:
    # Real time: the crew's phone rings its 5 s, as the demo shows it.
    async with running_demo(redis_url, key_prefix, tmp_path) as box:
        yield box


async def shows(browser: Session, css: str, words: str, timeout: float = 30) -> str:
    """Wait until the element `css` shows `words`; its text."""

    async def found() -> str | None:
        try:
            text = await browser.text(css)
        except WebDriverError:
            return None  # not on the page yet
        return text if words in text else None

    return await wait_until(found, timeout=timeout, interval=0.2, message=f"{css}: no {words!r}")


def save(name: str, png: bytes, size: tuple[int, int]) -> None:
    assert png.startswith(b"\x89PNG")
    assert (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")) == size
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / name).write_bytes(png)
    print(f"demo screenshot: {ARTIFACTS / name}")


async def test_the_whole_loop_in_the_demo_page(demo: Sandbox) -> None:
    assert FOUND is not None
    async with chromium(*FOUND, width=1280, height=900) as browser:
        await browser.go(demo.page)
        assert await browser.title() == "textback demo"
        await shows(browser, "#my-number", "(202) 555-0123")

        # A missed call: the phone gets the text, the channel a card.
        await browser.click("#call")  # "nobody answers" is the default
        await shows(browser, "#call-screen", "Ringing")
        await shows(browser, "#sms", "Johnson Electric: sorry we missed your call!")
        await shows(browser, CARD, "Missed call from (202) 555-0123")
        await shows(browser, f"{CARD} .bk-context", "Texted")

        # The caller replies: it lands in the thread.
        await browser.type("#sms-body", "My water heater is leaking")
        await browser.click("#send")
        await shows(browser, f"{CARD} .thread", "My water heater is leaking")

        # Dev replies in the thread: the phone gets it, and Slack shows it went (✅).
        await browser.click("#me option[value=U0DEV]")
        await browser.type(f"{CARD} form.reply textarea", "On our way at 3pm")
        await browser.click(f"{CARD} form.reply button")
        await shows(browser, f"{CARD} .thread .undo", "texted in")  # the undo window, counting
        await shows(browser, "#sms", "On our way at 3pm")
        await shows(browser, f"{CARD} .thread [data-reaction=white_check_mark]", "1")

        # Dev claims the card with a reaction.
        await browser.click(f"{CARD} .quick-reacts [data-react=raising_hand]")
        await shows(browser, f"{CARD} .bk-context", "Claimed by @Dev Patel")

        # STOP: Twilio answers it itself, the thread says so, and the next reply is not sent.
        await browser.click("[data-quick=STOP]")
        await shows(browser, "#sms", "You have successfully been unsubscribed")
        await shows(browser, f"{CARD} .thread", "Caller opted out")
        await browser.click("#me option[value=U0SAM]")
        await browser.type(f"{CARD} form.reply textarea", "Are you still there?")
        await browser.click(f"{CARD} form.reply button")
        await shows(browser, f"{CARD} .thread", "Not sent: this caller opted out")
        assert "Are you still there?" not in await browser.text("#sms")
        assert not [m for m in demo.twilio.messages if "still there" in m["Body"]]

        save("demo-desktop.png", await browser.screenshot(), (1280, 900))

    async with chromium(*FOUND, width=390, height=844) as phone:
        await phone.go(demo.page)
        # One side at a time on a phone: the caller's first, the crew's a tab away.
        await shows(phone, "#sms", "On our way at 3pm")
        save("demo-phone.png", await phone.screenshot(), (390, 844))
        await phone.click("#tab-slack")
        await shows(phone, CARD, "Opted out")  # the STOP above: a card shows it over the claim
        save("demo-phone-slack.png", await phone.screenshot(), (390, 844))
