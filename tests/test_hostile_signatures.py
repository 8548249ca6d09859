"""Forged, replayed and unsigned requests on every route that takes them: all refused, and
nothing changes: no key written under the test's prefix, no request to Slack or Twilio."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import web

from tests.conftest import (
    BUSINESS_NUMBER,
    CALLER,
    CHANNEL,
    CREW_USER,
    PUBLIC_URL,
    SIGNING_SECRET,
    Harness,
    new_sid,
)
from tests.hostile import (
    FORM,
    TWILIO_ROUTES,
    event_body,
    interactive_body,
    outside_requests,
    snapshot,
    stream_lengths,
)
from tests.signing import slack_headers, twilio_signature
from tests.standins import DEFAULT_AUTH_TOKEN

Headers = dict[str, str]


def _twilio_params() -> dict[str, str]:
    """Everything any Twilio route reads, so a forgery that got through would act."""
    return {
        "CallSid": new_sid("CA"),
        "MessageSid": new_sid("SM"),
        "From": CALLER,
        "To": BUSINESS_NUMBER,
        "Direction": "inbound",
        "CallStatus": "no-answer",
        "DialCallStatus": "no-answer",
        "Digits": "1",
        "Body": "STOP",
        "NumMedia": "0",
        "MessageStatus": "failed",
        "ErrorCode": "21610",
    }


def _sign(url: str, params: dict[str, str], token: str = DEFAULT_AUTH_TOKEN) -> Headers:
    return {"X-Twilio-Signature": twilio_signature(token, url, params)}


# Each takes (path with query, params) and returns the request's headers.
TWILIO_FORGERIES: dict[str, Callable[[str, dict[str, str]], Headers]] = {
    "unsigned": lambda path, p: {},
    "empty signature": lambda path, p: {"X-Twilio-Signature": ""},
    "garbage signature": lambda path, p: {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
    "signed with another auth token": lambda path, p: _sign(PUBLIC_URL + path, p, "wrong-token"),
    "signed for http": lambda path, p: _sign(PUBLIC_URL.replace("https:", "http:") + path, p),
    "signed for another host": lambda path, p: _sign("https://evil.example.test" + path, p),
    "signed for another route": lambda path, p: _sign(PUBLIC_URL + "/twilio/other", p),
    "signed without the query string": lambda path, p: _sign(PUBLIC_URL + path.split("?")[0], p),
    "signed over other params": lambda path, p: _sign(PUBLIC_URL + path, {**p, "Body": "hi"}),
    "signed with no params": lambda path, p: _sign(PUBLIC_URL + path, {}),
}


@pytest.mark.parametrize("forgery", list(TWILIO_FORGERIES))
@pytest.mark.parametrize("route", TWILIO_ROUTES)
async def test_forged_twilio_webhook_is_refused_and_changes_nothing(
    harness: Harness, route: str, forgery: str
) -> None:
    path = f"{route}?parent={new_sid('CA')}"  # the screening routes carry a query string
    params = _twilio_params()
    before = await snapshot(harness)

    response = await harness.client.post(
        path,
        data=io.BytesIO(urlencode(params).encode()),
        headers={"Content-Type": FORM, **TWILIO_FORGERIES[forgery](path, params)},
    )

    assert response.status == 403
    assert "signature" in await response.text()
    assert await snapshot(harness) == before
    assert await stream_lengths(harness) == {"sms": 0, "slack": 0}
    assert outside_requests(harness) == 0


def _slack_bodies() -> dict[str, tuple[str, str]]:
    """(content type, body) for each kind of request Slack sends us."""
    thread = "1700000000.000100"
    message = {
        "type": "message",
        "channel": CHANNEL,
        "user": CREW_USER,
        "text": "We can come at 3",
        "ts": f"{time.time():.6f}",
        "thread_ts": thread,
    }
    command = urlencode(
        {
            "command": "/textback",
            "text": "exclude add +12025550123 forged",
            "user_id": CREW_USER,
            "channel_id": CHANNEL,
            "team_id": "T0TEAM",
            "response_url": "https://hooks.slack.invalid/x",
            "trigger_id": "1.2",
        }
    )
    click = {
        "type": "block_actions",
        "user": {"id": CREW_USER},
        "team": {"id": "T0TEAM"},
        "container": {"type": "message", "message_ts": thread, "channel_id": CHANNEL},
        "actions": [{"type": "button", "action_id": "lead_claim", "block_id": "lead"}],
        "trigger_id": "1.2.3",
    }
    reaction = {
        "type": "reaction_added",
        "user": CREW_USER,
        "reaction": "white_check_mark",
        "item": {"type": "message", "channel": CHANNEL, "ts": thread},
    }
    home = {"type": "app_home_opened", "user": CREW_USER, "tab": "home"}
    return {
        "crew reply event": ("application/json", event_body(message, new_sid("Ev"))),
        "reaction event": ("application/json", event_body(reaction, new_sid("Ev"))),
        "app home event": ("application/json", event_body(home, new_sid("Ev"))),
        "url verification": ("application/json", '{"type":"url_verification","challenge":"c"}'),
        "slash command": (FORM, command),
        "button click": (FORM, interactive_body(click)),
        "unreadable body": ("application/json", "[not json"),
    }


def _slack_sig(body: str, *, secret: str = SIGNING_SECRET, age: int = 0) -> Headers:
    return slack_headers(secret, body, timestamp=int(time.time()) - age)


SLACK_FORGERIES: dict[str, Callable[[str], Headers]] = {
    "unsigned": lambda body: {},
    "timestamp without signature": lambda body: {
        "X-Slack-Request-Timestamp": str(int(time.time()))
    },
    "signature without timestamp": lambda body: {
        "X-Slack-Signature": _slack_sig(body)["X-Slack-Signature"]
    },
    "garbage signature": lambda body: {**_slack_sig(body), "X-Slack-Signature": "v0=" + "0" * 64},
    "signed with another secret": lambda body: _slack_sig(body, secret="not-the-secret"),
    "signed over another body": lambda body: _slack_sig(body + " "),
    "replayed 301 s later": lambda body: _slack_sig(body, age=301),
    "replayed an hour later": lambda body: _slack_sig(body, age=3600),
    "timestamp from the future": lambda body: _slack_sig(body, age=-400),
    "timestamp not a number": lambda body: {
        **_slack_sig(body),
        "X-Slack-Request-Timestamp": "yesterday",
    },
}


@pytest.mark.parametrize("forgery", list(SLACK_FORGERIES))
@pytest.mark.parametrize("kind", list(_slack_bodies()))
async def test_forged_or_replayed_slack_request_is_refused_and_changes_nothing(
    harness: Harness, kind: str, forgery: str
) -> None:
    content_type, body = _slack_bodies()[kind]
    before = await snapshot(harness)

    response = await harness.client.post(
        "/slack/events",
        data=io.BytesIO(body.encode()),
        headers={"Content-Type": content_type, **SLACK_FORGERIES[forgery](body)},
    )

    assert response.status == 401
    assert "challenge" not in await response.text()
    assert await snapshot(harness) == before
    assert await stream_lengths(harness) == {"sms": 0, "slack": 0}
    assert outside_requests(harness) == 0


async def test_the_same_slack_requests_signed_properly_are_accepted(harness: Harness) -> None:
    """The forgeries above fail for their forgery, not because the bodies would be refused."""
    statuses: dict[str, Any] = {}
    for kind, (content_type, body) in _slack_bodies().items():
        response = await harness.client.post(
            "/slack/events",
            data=io.BytesIO(body.encode()),
            headers={"Content-Type": content_type, **_slack_sig(body)},
        )
        statuses[kind] = response.status
    assert statuses == {
        **{kind: 200 for kind in statuses},
        "unreadable body": 400,
    }


async def test_a_genuine_request_with_a_smuggled_duplicate_field_is_refused(
    harness: Harness,
) -> None:
    """A captured genuine webhook with an earlier `From=` (or `Body=`) prepended: the signature
    must cover every value, or the handler (reading the first) acts on the attacker's."""
    params = {**_twilio_params(), "Body": "hello"}
    genuine = urlencode(params)
    headers = {"Content-Type": FORM, **_sign(PUBLIC_URL + "/twilio/sms", params)}
    before = await snapshot(harness)
    for smuggled in ("From=%2B12125550142&", "Body=STOP&", "MessageStatus=delivered&"):
        response = await harness.client.post(
            "/twilio/sms", data=io.BytesIO((smuggled + genuine).encode()), headers=headers
        )
        assert response.status == 403, smuggled
    assert await snapshot(harness) == before
    assert outside_requests(harness) == 0
    # The same request untouched is accepted: the refusal was for the smuggled value.
    accepted = await harness.client.post(
        "/twilio/sms", data=io.BytesIO(genuine.encode()), headers=headers
    )
    assert accepted.status == 200


async def test_a_signature_over_the_path_without_its_twilio_prefix_is_refused(
    harness: Harness,
) -> None:
    """Twilio signs the URL it requested, /twilio included. The Twilio routes live in a sub-app
    mounted at /twilio: a check over the path below the mount point would accept this forgery
    and refuse every genuine webhook."""
    path = f"/twilio/voice/screen-accept?parent={new_sid('CA')}"
    params = _twilio_params()
    body = urlencode(params).encode()
    below_the_mount = path.removeprefix("/twilio")

    forged = await harness.client.post(
        path,
        data=io.BytesIO(body),
        headers={"Content-Type": FORM, **_sign(PUBLIC_URL + below_the_mount, params)},
    )
    genuine = await harness.client.post(
        path,
        data=io.BytesIO(body),
        headers={"Content-Type": FORM, **_sign(PUBLIC_URL + path, params)},
    )

    assert (forged.status, genuine.status) == (403, 200)


def mounted_twilio_routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, full path) of every route in the sub-app mounted at /twilio, read from the
    running app's router: whatever the sub-app holds, not a list kept by hand."""
    for resource in app.router.resources():
        info = resource.get_info()
        if info.get("prefix") == "/twilio":
            return [
                (route.method, route.resource.canonical)
                for route in info["app"].router.routes()
                if route.resource is not None
            ]
    raise AssertionError("nothing is mounted at /twilio")


async def test_every_twilio_route_refuses_an_unsigned_request(harness: Harness) -> None:
    routes = mounted_twilio_routes(harness.client.server.app)
    assert routes
    params = _twilio_params()
    before = await snapshot(harness)

    statuses = {}
    for method, path in routes:
        response = await harness.client.request(
            method,
            f"{path}?parent={new_sid('CA')}",
            data=io.BytesIO(urlencode(params).encode()),
            headers={"Content-Type": FORM},
        )
        statuses[method, path] = response.status

    assert statuses == {route: 403 for route in routes}
    assert await snapshot(harness) == before
    assert await stream_lengths(harness) == {"sms": 0, "slack": 0}
    assert outside_requests(harness) == 0


async def test_the_forgery_tests_cover_every_twilio_route(harness: Harness) -> None:
    """TWILIO_ROUTES drives the forgery and hostile-input tests: a new route belongs in it."""
    mounted = {path for _, path in mounted_twilio_routes(harness.client.server.app)}
    assert mounted == set(TWILIO_ROUTES)


async def test_a_twilio_path_or_method_without_a_route_answers_404_or_405_not_403(
    harness: Harness,
) -> None:
    """A mistyped webhook URL in Twilio's console reads as a wrong URL, not as a bad token."""
    body = urlencode(_twilio_params()).encode()
    headers = {"Content-Type": FORM, **_sign(PUBLIC_URL + "/twilio/voice/nope", {})}

    missing = await harness.client.post("/twilio/voice/nope", data=body, headers=headers)
    wrong_method = await harness.client.get("/twilio/voice")

    assert (missing.status, wrong_method.status) == (404, 405)
