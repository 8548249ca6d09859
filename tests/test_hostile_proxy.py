"""Behind a proxy: PUBLIC_URL alone decides the URL a Twilio signature is checked against, query
string included, whatever Host and X-Forwarded-* say (a proxy rewrites them, anyone forges them)."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import pytest

from tests.conftest import BUSINESS_NUMBER, CALLER, PUBLIC_URL, Harness, new_sid
from tests.hostile import FORM
from tests.signing import twilio_signature
from tests.standins import DEFAULT_AUTH_TOKEN

PROXY_HEADERS = {
    "Host": "internal-lb.local:8080",
    "X-Forwarded-Proto": "http",
    "X-Forwarded-Host": "evil.example.test",
    "X-Forwarded-For": "203.0.113.9, 10.0.0.1",
    "X-Forwarded-Port": "8080",
    "Forwarded": "for=203.0.113.9;host=evil.example.test;proto=http",
}
# What a verifier trusting those headers would rebuild instead of PUBLIC_URL.
HEADER_URLS = (
    "http://internal-lb.local:8080",
    "http://evil.example.test",
    "https://evil.example.test",
    "https://internal-lb.local:8080",
)
ROUTES = (
    "/twilio/voice/dial-status",
    "/twilio/voice/screen-accept?parent=CA0123456789abcdef&x=%C3%A9+y",
    "/twilio/sms?source=proxy",
)


def _params() -> dict[str, str]:
    return {
        "CallSid": new_sid("CA"),
        "MessageSid": new_sid("SM"),
        "From": CALLER,
        "To": BUSINESS_NUMBER,
        "Direction": "inbound",
        "DialCallStatus": "no-answer",
        "Digits": "1",
        "Body": "hello",
        "NumMedia": "0",
    }


async def _post(harness: Harness, path: str, params: dict[str, str], signed_url: str) -> int:
    signature = twilio_signature(DEFAULT_AUTH_TOKEN, signed_url, params)
    response = await harness.client.post(
        path,
        data=io.BytesIO(urlencode(params).encode()),
        headers={"Content-Type": FORM, "X-Twilio-Signature": signature, **PROXY_HEADERS},
    )
    return response.status


@pytest.mark.parametrize("path", ROUTES)
async def test_request_signed_for_public_url_is_accepted_whatever_the_proxy_headers_say(
    harness: Harness, path: str
) -> None:
    assert await _post(harness, path, _params(), PUBLIC_URL + path) == 200


@pytest.mark.parametrize("base", HEADER_URLS)
@pytest.mark.parametrize("path", ROUTES)
async def test_request_signed_for_the_host_headers_url_is_refused(
    harness: Harness, path: str, base: str
) -> None:
    assert await _post(harness, path, _params(), base + path) == 403
    await harness.drained()
    assert harness.twilio.messages == [] and harness.slack.posts == []


@pytest.mark.parametrize("path", [r for r in ROUTES if "?" in r])
async def test_query_string_is_part_of_what_is_signed(harness: Harness, path: str) -> None:
    bare = path.split("?")[0]
    other = bare + "?parent=CAforged"
    assert await _post(harness, path, _params(), PUBLIC_URL + bare) == 403
    assert await _post(harness, path, _params(), PUBLIC_URL + other) == 403
