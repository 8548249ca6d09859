"""The stand-ins behave like Slack and Twilio as far as the official clients can tell."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.signing import slack_headers, twilio_signature
from tests.standins import SlackStandIn, TwilioStandIn
from tests.waiting import wait_until

CUSTOMER = "+15551230001"
BUSINESS = "+15559990000"


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn(users={"U1": "Ada Lovelace"}) as standin:
        yield standin


@pytest.fixture
def slack_client(slack: SlackStandIn) -> AsyncWebClient:
    return AsyncWebClient(token=slack.token, base_url=slack.url)


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioStandIn]:
    async with TwilioStandIn() as standin:
        yield standin


@pytest.fixture
async def twilio_client(twilio: TwilioStandIn) -> AsyncIterator[Client]:
    # The aiohttp session inside must be created on the running loop.
    http = AsyncTwilioHttpClient()
    client = Client(twilio.account_sid, twilio.auth_token, http_client=http)
    client.api.base_url = twilio.url
    yield client
    await http.close()


# ---- Slack -------------------------------------------------------------------------


async def test_post_message_records_and_answers_like_slack(
    slack: SlackStandIn, slack_client: AsyncWebClient
) -> None:
    first = await slack_client.chat_postMessage(channel="C1", text="Missed call from +1555")
    reply = await slack_client.chat_postMessage(channel="C1", text="on it", thread_ts=first["ts"])

    assert first["channel"] == "C1"
    assert first["message"]["text"] == "Missed call from +1555"
    assert reply["ts"] > first["ts"]
    assert [p["text"] for p in slack.posts] == ["Missed call from +1555", "on it"]
    assert slack.replies(first["ts"]) == [slack.posts[1]]
    assert slack.calls[0].at <= slack.calls[1].at


async def test_wrong_token_is_invalid_auth(slack: SlackStandIn) -> None:
    client = AsyncWebClient(token="xoxb-wrong", base_url=slack.url)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="hi")
    assert err.value.response["error"] == "invalid_auth"
    assert slack.calls[0].failed
    assert slack.posts == []


async def test_update_and_delete_need_an_existing_message(
    slack: SlackStandIn, slack_client: AsyncWebClient
) -> None:
    posted = await slack_client.chat_postMessage(channel="C1", text="draft")
    updated = await slack_client.chat_update(channel="C1", ts=posted["ts"], text="final")
    assert updated["text"] == "final"
    assert slack.messages[("C1", posted["ts"])]["text"] == "final"

    await slack_client.chat_delete(channel="C1", ts=posted["ts"])
    with pytest.raises(SlackApiError) as err:
        await slack_client.chat_update(channel="C1", ts=posted["ts"], text="again")
    assert err.value.response["error"] == "message_not_found"


async def test_reactions_add_and_duplicate(
    slack: SlackStandIn, slack_client: AsyncWebClient
) -> None:
    ts = slack.add_message("C1", "customer reply", user="U1")
    await slack_client.reactions_add(channel="C1", timestamp=ts, name="white_check_mark")
    with pytest.raises(SlackApiError) as err:
        await slack_client.reactions_add(channel="C1", timestamp=ts, name="white_check_mark")

    assert err.value.response["error"] == "already_reacted"
    assert slack.reactions == [{"channel": "C1", "timestamp": ts, "name": "white_check_mark"}]
    await slack_client.reactions_remove(channel="C1", timestamp=ts, name="white_check_mark")
    assert len(slack.calls_to("reactions.remove", failed=False)) == 1


async def test_lookups(slack: SlackStandIn, slack_client: AsyncWebClient) -> None:
    auth = await slack_client.auth_test()
    user = await slack_client.users_info(user="U1")
    channel = await slack_client.conversations_info(channel="C1")
    ephemeral = await slack_client.chat_postEphemeral(channel="C1", user="U1", text="psst")

    assert auth["user_id"] == "U0TEXTBACK"
    assert user["user"]["real_name"] == "Ada Lovelace"
    assert channel["channel"]["id"] == "C1"
    assert ephemeral["message_ts"]
    with pytest.raises(SlackApiError) as err:
        await slack_client.users_info(user="U404")
    assert err.value.response["error"] == "user_not_found"


async def test_files_upload_v2_into_thread(
    slack: SlackStandIn, slack_client: AsyncWebClient
) -> None:
    parent = await slack_client.chat_postMessage(channel="C1", text="MMS from +1555")
    result = await slack_client.files_upload_v2(
        channel="C1",
        thread_ts=parent["ts"],
        content=b"\x89PNG fake",
        filename="photo.png",
        initial_comment="customer photo",
    )

    [upload] = slack.uploads
    assert result["file"]["id"] == upload.file_id
    assert upload.data == b"\x89PNG fake"
    assert upload.filename == "photo.png"
    assert (upload.channel_id, upload.thread_ts) == ("C1", parent["ts"])
    assert upload.initial_comment == "customer photo"


async def test_unknown_method(slack: SlackStandIn, slack_client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        await slack_client.api_call("nope.nothing")
    assert err.value.response.status_code == 200
    assert err.value.response["error"] == "unknown_method"


async def test_scripted_429_surfaces_with_retry_after(
    slack: SlackStandIn, slack_client: AsyncWebClient
) -> None:
    slack.fail("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        await slack_client.chat_postMessage(channel="C1", text="hi")

    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"
    assert err.value.response["error"] == "ratelimited"
    assert slack.calls[0].failed and slack.calls[0].status == 429
    assert slack.posts == []
    await slack_client.chat_postMessage(channel="C1", text="hi")  # fault used up
    assert len(slack.posts) == 1


async def test_scripted_error_and_500(slack: SlackStandIn, slack_client: AsyncWebClient) -> None:
    slack.fail("chat.postMessage", error="channel_not_found")
    slack.fail("reactions.add", status=500, times=2)

    with pytest.raises(SlackApiError) as err:
        await slack_client.chat_postMessage(channel="C9", text="hi")
    assert (err.value.response.status_code, err.value.response["error"]) == (
        200,
        "channel_not_found",
    )
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            await slack_client.reactions_add(channel="C1", timestamp="1.2", name="x")
        assert err.value.response.status_code == 500
    await slack_client.reactions_add(channel="C1", timestamp="1.2", name="x")
    assert len(slack.calls_to("reactions.add")) == 3
    assert len(slack.reactions) == 1


async def test_retry_handler_honours_scripted_429(slack: SlackStandIn) -> None:
    client = AsyncWebClient(
        token=slack.token, base_url=slack.url, retry_handlers=[AsyncRateLimitErrorRetryHandler()]
    )
    slack.fail("chat.postMessage", status=429, retry_after=0)
    await client.chat_postMessage(channel="C1", text="hi")
    assert [c.status for c in slack.calls] == [429, 200]


async def test_per_channel_rate_limit(slack: SlackStandIn, slack_client: AsyncWebClient) -> None:
    slack.rate_limit_per_channel = 0.5  # one post per 2 s
    await slack_client.chat_postMessage(channel="C1", text="one")
    await slack_client.chat_postMessage(channel="C2", text="other channel is fine")
    with pytest.raises(SlackApiError) as err:
        await slack_client.chat_postMessage(channel="C1", text="too soon")

    assert err.value.response.status_code == 429
    assert int(err.value.response.headers["Retry-After"]) in (1, 2)
    assert slack.rate_limited == 1
    assert [p["text"] for p in slack.posts] == ["one", "other channel is fine"]


async def test_outage_then_recovery(slack: SlackStandIn, slack_client: AsyncWebClient) -> None:
    slack.fail_all(status=503, duration_seconds=0.2)

    async def post_succeeds() -> bool:
        try:
            await slack_client.chat_postMessage(channel="C1", text="hi")
        except SlackApiError as e:
            assert e.response.status_code == 503
            return False
        return True

    assert await wait_until(post_succeeds, timeout=3, interval=0.05)
    assert slack.calls[0].status == 503
    assert len(slack.posts) == 1


async def test_latency(slack: SlackStandIn, slack_client: AsyncWebClient) -> None:
    slack.latency = 0.2
    started = time.monotonic()
    await slack_client.auth_test()
    assert time.monotonic() - started >= 0.19  # asyncio may wake a tick early


# ---- Twilio ------------------------------------------------------------------------


async def test_create_message(twilio: TwilioStandIn, twilio_client: Client) -> None:
    message = await twilio_client.messages.create_async(
        to=CUSTOMER,
        from_=BUSINESS,
        body="Sorry we missed you!",
        status_callback="https://example.test/twilio/status",
    )

    [sent] = twilio.messages_to(CUSTOMER)
    assert message.sid == sent["sid"]
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued"
    assert (message.to, message.from_, message.body) == (CUSTOMER, BUSINESS, "Sorry we missed you!")
    assert message.num_segments == "1"
    assert message.date_created is not None
    assert sent["StatusCallback"] == "https://example.test/twilio/status"
    assert sent["MediaUrl"] == []


async def test_media_urls_repeat(twilio: TwilioStandIn, twilio_client: Client) -> None:
    await twilio_client.messages.create_async(
        to=CUSTOMER, from_=BUSINESS, media_url=["https://a.test/1.jpg", "https://a.test/2.jpg"]
    )
    assert twilio.messages[0]["MediaUrl"] == ["https://a.test/1.jpg", "https://a.test/2.jpg"]


async def test_unsubscribed_number(twilio: TwilioStandIn, twilio_client: Client) -> None:
    twilio.fail_for_number(CUSTOMER)
    with pytest.raises(TwilioRestException) as err:
        await twilio_client.messages.create_async(to=CUSTOMER, from_=BUSINESS, body="hi")

    assert (err.value.code, err.value.status) == (21610, 400)
    assert twilio.messages == []
    assert twilio.attempts[0]["code"] == 21610
    await twilio_client.messages.create_async(to="+15551230002", from_=BUSINESS, body="hi")
    assert len(twilio.messages) == 1


async def test_fail_next(twilio: TwilioStandIn, twilio_client: Client) -> None:
    twilio.fail_next(times=2, status=429)
    for _ in range(2):
        with pytest.raises(TwilioRestException) as err:
            await twilio_client.messages.create_async(to=CUSTOMER, from_=BUSINESS, body="hi")
        assert (err.value.code, err.value.status) == (20429, 429)
    await twilio_client.messages.create_async(to=CUSTOMER, from_=BUSINESS, body="hi")
    assert [a["status"] for a in twilio.attempts] == [429, 429, 201]
    assert len(twilio.messages) == 1


async def test_validation_error(twilio: TwilioStandIn, twilio_client: Client) -> None:
    with pytest.raises(TwilioRestException) as err:
        await twilio_client.messages.create_async(to=CUSTOMER, from_=BUSINESS)
    assert err.value.code == 21602


async def test_wrong_credentials(twilio: TwilioStandIn) -> None:
    http = AsyncTwilioHttpClient()
    client = Client(twilio.account_sid, "not-the-token", http_client=http)
    client.api.base_url = twilio.url
    try:
        with pytest.raises(TwilioRestException) as err:
            await client.messages.create_async(to=CUSTOMER, from_=BUSINESS, body="hi")
    finally:
        await http.close()
    assert (err.value.code, err.value.status) == (20003, 401)
    assert twilio.messages == []


async def test_media_needs_basic_auth(twilio: TwilioStandIn) -> None:
    url = twilio.add_media("pic", b"JPEGDATA", "image/jpeg")
    creds = base64.b64encode(f"{twilio.account_sid}:{twilio.auth_token}".encode()).decode()
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as anonymous:
            assert anonymous.status == 401
        async with session.get(url, headers={"Authorization": f"Basic {creds}"}) as resp:
            assert resp.status == 200
            assert resp.content_type == "image/jpeg"
            assert await resp.read() == b"JPEGDATA"
    assert twilio.media_fetches == ["pic"]


# ---- signing and waiting -----------------------------------------------------------


def test_twilio_signature_validates() -> None:
    url = "https://textback.test/twilio/voice"
    params = {"CallSid": "CA1", "From": CUSTOMER, "CallStatus": "no-answer"}
    signature = twilio_signature("secret", url, params)
    assert RequestValidator("secret").validate(url, params, signature)
    assert not RequestValidator("other").validate(url, params, signature)


def test_slack_headers_validate() -> None:
    body = '{"type":"event_callback"}'
    verifier = SignatureVerifier("shh")
    assert verifier.is_valid_request(body, slack_headers("shh", body))
    assert verifier.is_valid_request(body.encode(), slack_headers("shh", body.encode()))
    assert not verifier.is_valid_request(body + " ", slack_headers("shh", body))
    stale = slack_headers("shh", body, timestamp=int(time.time()) - 3600)
    assert stale["X-Slack-Request-Timestamp"] == str(int(time.time()) - 3600)
    assert not verifier.is_valid_request(body, stale)


async def test_wait_until_returns_the_truthy_value() -> None:
    polls: list[int] = []

    def third_time() -> list[int] | None:
        polls.append(1)
        return polls if len(polls) >= 3 else None

    async def ready() -> str:
        return "yes"

    assert await wait_until(third_time) == [1, 1, 1]
    assert await wait_until(ready) == "yes"


async def test_wait_until_times_out_with_message() -> None:
    with pytest.raises(AssertionError, match="never happened"):
        await wait_until(lambda: False, timeout=0.05, message="never happened")
