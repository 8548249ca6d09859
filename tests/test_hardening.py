"""The public surface: what must never leak (numbers, tokens, credentials) and what is refused."""

from __future__ import annotations

import json
import logging
import re

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis

from bot import local_redis
from bot.domain.client_address import client_address
from bot.simulators._server import LoopbackServer
from tests.conftest import (
    BUSINESS_NUMBER,
    CALLER,
    Clock,
    Harness,
    card_ts,
    slash_command,
    start_harness,
)
from tests.standins import SlackStandIn, TwilioStandIn
from tests.waiting import wait_until

CALLER_DIGITS = CALLER.removeprefix("+1")  # 2025550123: the number in any common form


def leaks(text: str) -> bool:
    """The caller's whole number, in E.164 or as ten digits (with or without separators)."""
    digits = re.sub(r"[^0-9]", "", text)
    return CALLER_DIGITS in digits.replace(BUSINESS_NUMBER.removeprefix("+1"), "-")


# --- logs, job ids and answers carry no caller's whole number ----------------------------------


async def test_no_log_line_job_id_or_status_answer_carries_a_callers_number(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    message = f"The 'To' number {CALLER} is not a valid phone number."
    harness.twilio.fail_for_number(CALLER, code=21211, status=400, message=message)
    photo = harness.twilio.add_media("pipe.jpg", b"\xff\xd8jpeg", redirect=True)

    await harness.missed_call()
    thread = await wait_until(lambda: card_ts(harness), message="no lead card")
    media = {"NumMedia": "1", "MediaUrl0": photo, "MediaContentType0": "image/jpeg"}
    await harness.caller_text("Burst pipe", **media)
    await harness.crew_reply(thread, "On our way")
    await harness.drained()
    # A post whose predecessor never came is released after PARK_TIMEOUT (and logged).
    await harness.services.callers.next_seq(CALLER, "default")  # a post planned, then lost
    await harness.caller_text("Hello?")
    keys = harness.services.keys

    async def release_timers() -> list[str]:
        timers = await harness.services.redis.zrange(keys.retry("slack"), 0, -1)
        return [i for timer in timers if (i := json.loads(timer)["id"]).startswith("unpark:")]

    ids = await wait_until(release_timers, message="the post never parked")
    harness.clock.advance(601)
    await harness.drained(timeout=15)
    answer = await (await slash_command(harness, "status")).text()

    assert [i for i in ids if leaks(i)] == []
    jobs = await harness.services.redis.lrange(keys.dead(), 0, -1)
    lines = [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    assert any("released after waiting" in line for line in lines)  # the log was exercised
    assert [line for line in lines if leaks(line)] == []
    assert not leaks(answer)
    assert not jobs


# --- Twilio's credentials go only to Twilio's API ------------------------------------------------


class ForeignMedia(LoopbackServer):
    """A media host that is not Twilio: records whether credentials were sent to it."""

    def __init__(self) -> None:
        super().__init__()
        self.authorization: list[str | None] = []
        self.app.router.add_get("/{name}", self._get)

    async def _get(self, request: web.Request) -> web.Response:
        self.authorization.append(request.headers.get("Authorization"))
        return web.Response(body=b"\xff\xd8foreign", content_type="image/jpeg")


async def test_twilio_media_is_fetched_with_credentials_and_its_cdn_without(
    harness: Harness,
) -> None:
    photo = harness.twilio.add_media("panel.jpg", b"\xff\xd8panel", redirect=True)

    await harness.caller_text(
        "Panel", NumMedia="1", MediaUrl0=photo, MediaContentType0="image/jpeg"
    )

    await wait_until(lambda: harness.slack.uploads, message="photo never uploaded")
    assert harness.slack.uploads[0].data == b"\xff\xd8panel"
    assert [(f.sent_credentials, f.status) for f in harness.twilio.media.cdn_fetches] == [
        (False, 200)
    ]


async def test_a_media_url_outside_twilio_gets_no_credentials_and_is_logged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    async with ForeignMedia() as foreign:
        url = f"{foreign.origin}/photo.jpg"
        await harness.caller_text(
            "Look", NumMedia="1", MediaUrl0=url, MediaContentType0="image/jpeg"
        )
        await wait_until(lambda: harness.slack.uploads, message="photo never uploaded")

    assert foreign.authorization == [None]
    assert harness.twilio.auth_token not in str(foreign.authorization)
    assert any(
        "outside twilio's api" in r.getMessage() and "127.0.0.1" in r.getMessage()
        for r in caplog.records
    )


# --- /metrics is not for the internet ------------------------------------------------------------


async def test_metrics_are_off_on_the_public_port_without_a_token(harness: Harness) -> None:
    response = await harness.client.get("/metrics")
    assert response.status == 404
    assert "textback_" not in await response.text()


@pytest.mark.settings(METRICS_TOKEN="s3cret-scrape")
async def test_metrics_on_the_public_port_need_the_bearer_token(harness: Harness) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-scrape"}):
        refused = await harness.client.get("/metrics", headers=headers)
        assert refused.status == 401, headers
        assert "textback_" not in await refused.text()
    scraped = await harness.client.get(
        "/metrics", headers={"Authorization": "Bearer s3cret-scrape"}
    )
    assert scraped.status == 200
    assert "textback_outbox_depth" in await scraped.text()


async def test_metrics_listen_only_where_metrics_host_and_port_say(
    clean_env: None,
    redis: Redis,
    redis_url: str,
    key_prefix: str,
    slack: SlackStandIn,
    twilio: TwilioStandIn,
) -> None:
    port = local_redis.free_port()
    harness = await start_harness(
        redis_url, key_prefix, slack, twilio, Clock(), metrics_host="127.0.0.1", metrics_port=port
    )
    try:
        assert (await harness.client.get("/metrics")).status == 404  # not on the public port
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/metrics") as private,
        ):
            assert private.status == 200
            assert "textback_outbox_depth" in await private.text()
    finally:
        await harness.client.close()


# --- the intake page: per link and per client address --------------------------------------------


def test_the_client_address_is_a_proxys_report_only_when_the_proxy_is_trusted() -> None:
    trusted = ["10.0.0.0/8", "192.0.2.7"]
    # Straight from the internet: the socket's address, whatever the header says.
    assert client_address("203.0.113.9", "198.51.100.1", trusted) == "203.0.113.9"
    # Through a trusted proxy: the right-most address that is not a trusted proxy.
    assert client_address("10.0.0.2", "198.51.100.1", trusted) == "198.51.100.1"
    assert client_address("10.0.0.2", "6.6.6.6, 198.51.100.1, 192.0.2.7", trusted) == (
        "198.51.100.1"
    )
    assert client_address("10.0.0.2", "", trusted) == "10.0.0.2"
    assert client_address("10.0.0.2", "not-an-ip, 10.0.0.3", trusted) == "10.0.0.3"
    assert client_address("10.0.0.2", "198.51.100.1", []) == "10.0.0.2"


async def intake_link(harness: Harness, caller: str) -> str:
    """The path of the intake link the caller's auto-text carried."""
    await harness.missed_call(caller=caller)
    sent = await wait_until(lambda: harness.twilio.messages_to(caller), message="no auto-text")
    found = re.search(r"/i/[\w-]+", sent[0]["Body"])
    assert found is not None, sent[0]["Body"]
    return found[0]


async def send_form(
    harness: Harness, path: str, forwarded_for: str | None = None
) -> tuple[int, str]:
    page = await (await harness.client.get(path)).text()
    fields = dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', page))
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = await harness.client.post(
        path, data={**fields, "need": "Outlet", "consent": "yes"}, headers=headers
    )
    return response.status, await response.text()


CALLERS = [f"+12025550{n}" for n in range(160, 166)]


@pytest.mark.settings(INTAKE_MAX_PER_ADDRESS=2)
async def test_intake_forms_are_limited_per_client_address_with_a_friendly_page(
    harness: Harness,
) -> None:
    links = [await intake_link(harness, caller) for caller in CALLERS[:3]]

    statuses = [
        await send_form(harness, path, forwarded_for=f"198.51.100.{n}")
        for n, path in enumerate(links)
    ]

    assert [status for status, _ in statuses] == [200, 200, 429]
    assert "try again in an hour" in statuses[2][1]  # a page a person can read, not an error
    # Without TRUSTED_PROXIES the header is the sender's word: the socket's address counted.


@pytest.mark.settings(INTAKE_MAX_PER_ADDRESS=2, TRUSTED_PROXIES="127.0.0.1")
async def test_behind_a_trusted_proxy_each_client_address_has_its_own_limit(
    harness: Harness,
) -> None:
    links = [await intake_link(harness, caller) for caller in CALLERS[:4]]

    first = [await send_form(harness, path, "198.51.100.7") for path in links[:3]]
    other = await send_form(harness, links[3], "198.51.100.8")

    assert [status for status, _ in first] == [200, 200, 429]
    assert other[0] == 200
    ledger = harness.services.ledger
    entries = [
        e for e in await ledger.history(CALLERS[3], newest=10) if e.event == "explicit_consent"
    ]
    assert [e.detail["ip"] for e in entries] == ["198.51.100.8"]


# --- /textback: guests refused, a number's history and the exclusion list for admins ------------


async def test_a_member_may_read_but_not_see_a_numbers_history_or_change_exclusions(
    harness: Harness,
) -> None:
    await harness.missed_call()
    await harness.drained()

    history = await (await slash_command(harness, f"history {CALLER}")).text()
    added = await (await slash_command(harness, f"exclude add {CALLER} cousin")).text()
    listed = await (await slash_command(harness, "exclude list")).text()

    assert history.startswith("Only admins can read a number's history")
    assert "Called (implied consent)" not in history and not leaks(history)
    assert added.startswith("Only admins can change this")
    assert await harness.services.callers.excluded() == {}
    assert listed.startswith("No numbers are excluded")  # reading is for every member
