"""Twilio simulator: the REST API our app calls, and the webhooks Twilio sends our app.

The REST side serves what twilio-python requests from api.twilio.com (Messages, Calls, Account,
IncomingPhoneNumbers, media and recordings), messaging.twilio.com (Messaging Services) and
lookups.twilio.com (Lookup v2), all on one loopback origin: point a client at it with
`point_twilio_client(client, sim.url)`, and leave edge/region (and TWILIO_EDGE/TWILIO_REGION)
unset or Client.request rewrites the hostname.

The webhook side is off until `deliver_to(app_url, public_url)`: then `text_in` and `call_in`
send our app what Twilio sends for a text or a call, signed over PUBLIC_URL + path as Twilio
signs, and each accepted send with a StatusCallback gets its sent/delivered callbacks. The parts:
`texts` (inbound texts, Twilio's own STOP/START/HELP handling, status callbacks; twilio_messages),
`voice` (calls and TwiML; twilio_voice), `numbers` (numbers, services, Lookup; twilio_numbers),
`media` (basic-auth media, the CDN redirect, recordings; twilio_media).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler
from twilio.rest import Client

from bot.simulators._server import LoopbackServer
from bot.simulators.signing import twilio_signature
from bot.simulators.twilio_common import API_VERSION, new_sid, rfc2822_now, twilio_error
from bot.simulators.twilio_media import Media
from bot.simulators.twilio_messages import TextIn, Texts, count_segments
from bot.simulators.twilio_numbers import Numbers
from bot.simulators.twilio_voice import Answer, Caller, CallRecord, Voice
from bot.simulators.webhooks import Delivery, send

DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_AUTH_TOKEN = "test-auth-token"
WEBHOOK_TIMEOUT = 15.0  # Twilio waits at most 15 s for our answer

# Codes Twilio uses for generic HTTP failures.
_DEFAULT_CODES = {401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}

__all__ = ["DEFAULT_ACCOUNT_SID", "DEFAULT_AUTH_TOKEN", "TwilioStandIn", "point_twilio_client"]


def point_twilio_client(client: Client, url: str) -> None:
    """Send every request `client` makes for our product (api, messaging and lookups) to `url`.

    twilio-python has no documented base-URL option: each domain object (client.api,
    client.messaging, client.lookups) keeps its host in a `base_url` attribute, undocumented
    but stable (shared/PLATFORM.md), and builds `base_url + /version/path` from it.
    """
    base = url.rstrip("/")
    client.api.base_url = base
    client.messaging.base_url = base
    client.lookups.base_url = base


@dataclass
class _Fault:
    status: int
    code: int
    message: str


class TwilioStandIn(LoopbackServer):
    """Loopback Twilio. Pass `url` to point_twilio_client (or as `client.api.base_url`)."""

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        latency: float = 0.0,
        app_url: str | None = None,
        public_url: str | None = None,
        max_concurrent: int | None = None,
    ) -> None:
        super().__init__(latency)
        # Twilio caps an account's requests in flight: past the cap it answers 429 with error
        # 20429 ("Too Many Requests") at once. None: no cap.
        self.max_concurrent = max_concurrent
        self.in_flight = 0
        self.most_in_flight = 0  # the highest number of requests served at once
        self.refused_concurrent = 0  # requests answered 20429 for being one too many
        self.app.middlewares.append(self._concurrency_cap)
        self.account_sid = account_sid
        self.auth_token = auth_token
        # The account resource's status (active, suspended, closed) and type (Full, Trial).
        self.account_status = "active"
        self.account_type = "Full"
        self.app_url = app_url  # where our app really listens; None: webhooks are off
        self.public_url = (public_url or app_url or "").rstrip("/")  # what signatures cover
        self.messages: list[dict[str, Any]] = []  # accepted sends (our app's, never Twilio's)
        self.attempts: list[dict[str, Any]] = []  # every Messages.json POST, incl. failures
        self.deliveries: list[Delivery] = []  # every request Twilio made to our app
        self._number_faults: dict[str, _Fault] = {}
        self._next_faults: list[_Fault] = []
        self._outages: list[tuple[float, float, _Fault]] = []  # (from, until, fault)
        self.app.router.add_post(f"/{API_VERSION}/Accounts/{{sid}}/Messages.json", self._send)
        self.app.router.add_get(f"/{API_VERSION}/Accounts/{{sid}}.json", self._get_account)
        self.numbers = Numbers(self)
        self.media = Media(self)
        self.texts = Texts(self)
        self.voice = Voice(self)
        self.media_fetches = self.media.fetches  # names of successfully served media
        self.auto_replies = self.texts.auto_replies  # Twilio's own STOP/START/HELP answers

    @property
    def url(self) -> str:
        return self.origin

    async def start(self) -> None:
        await self.media.cdn.start()
        await super().start()

    async def close(self) -> None:
        await super().close()
        await self.media.cdn.close()

    @web.middleware
    async def _concurrency_cap(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.max_concurrent is not None and self.in_flight >= self.max_concurrent:
            self.refused_concurrent += 1
            return twilio_error(429, 20429, "Too Many Requests")
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return await handler(request)
        finally:
            self.in_flight -= 1

    # ---- configuration -------------------------------------------------------------

    def deliver_to(self, app_url: str, public_url: str | None = None) -> None:
        """Turn webhooks on: our app listens at `app_url`; Twilio knows it as `public_url`."""
        self.app_url = app_url.rstrip("/")
        self.public_url = (public_url or app_url).rstrip("/")

    @property
    def delivering(self) -> bool:
        return self.app_url is not None

    def fail_for_number(
        self,
        to: str,
        code: int = 21610,
        status: int = 400,
        message: str = "Attempt to send to unsubscribed recipient",
    ) -> None:
        """Every send to `to` fails (21610 = recipient replied STOP)."""
        self._number_faults[to] = _Fault(status, code, message)

    def fail_delivery_to(self, to: str, code: int = 30006, status: str = "undelivered") -> None:
        """Sends to `to` are accepted, then their status callback says `status` with ErrorCode
        `code` (30006: landline or unreachable carrier; 21610 with status "failed": opted out)."""
        self.texts.delivery_faults[to] = (status, code)

    def fail_next(
        self, times: int = 1, status: int = 500, code: int | None = None, message: str | None = None
    ) -> None:
        """The next `times` sends fail whatever the number (429 -> 20429, 500 -> 20500)."""
        code = code if code is not None else _DEFAULT_CODES.get(status, 20500)
        fault = _Fault(status, code, message or HTTPStatus(status).phrase)
        self._next_faults.extend([fault] * times)

    def outages(self, phases: list[tuple[int, int, float]]) -> None:
        """Back-to-back outages from now, whatever the number: e.g. [(500, 20500, 30),
        (429, 20429, 30)] answers 500 for 30 s, then "too many requests" for 30 s."""
        start = time.monotonic()
        self._outages = []
        for status, code, seconds in phases:
            fault = _Fault(status, code, HTTPStatus(status).phrase)
            self._outages.append((start, start + seconds, fault))
            start += seconds

    @property
    def outage_over_at(self) -> float | None:
        return self._outages[-1][1] if self._outages else None

    def clear_faults(self) -> None:
        self._number_faults.clear()
        self._next_faults.clear()
        self._outages = []

    def add_media(
        self, name: str, data: bytes, content_type: str = "image/jpeg", *, redirect: bool = False
    ) -> str:
        """Serve `data` at the returned URL, behind the account's basic auth. redirect=True:
        a Twilio media URL that answers 307 to the media CDN, as Twilio's own do."""
        return self.media.add(name, data, content_type, redirect=redirect)

    # ---- what callers do -----------------------------------------------------------------

    async def text_in(
        self, from_: str, to: str, body: str, *, media: Sequence[tuple[bytes, str]] = ()
    ) -> TextIn:
        """A caller texts `body` (and `media`: (data, content type) pairs) to our number `to`."""
        return await self.texts.text_in(from_, to, body, media=media)

    async def call_in(
        self,
        from_: str,
        to: str,
        *,
        crew: Mapping[str, Answer] | None = None,
        caller: Caller | None = None,
    ) -> CallRecord:
        """A caller rings our number `to`; each crew phone Twilio dials does what `crew` says."""
        return await self.voice.call_in(from_, to, crew=crew, caller=caller)

    # ---- inspection ----------------------------------------------------------------

    def messages_to(self, number: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("To") == number]

    # ---- calling our app -----------------------------------------------------------------

    def route(self, url: str) -> str | None:
        """Where a request Twilio addresses to `url` really goes; None: not our app."""
        if self.app_url is None:
            return None
        if self.public_url and (url == self.public_url or url.startswith(self.public_url + "/")):
            return self.app_url + url[len(self.public_url) :]
        if url.startswith(self.app_url) or urlsplit(url).hostname in ("127.0.0.1", "localhost"):
            return url
        return None

    async def webhook(self, url: str, params: Mapping[str, str], method: str = "POST") -> Delivery:
        """Request `url` the way Twilio does: signed, form-encoded (or in the query for GET),
        15 s to answer, and one retry if the connection fails."""
        url = url.split("#", 1)[0]  # a fragment (connection overrides) is not sent
        body = b""
        if method.upper() == "GET":
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
            signed: Mapping[str, str] = {}
        else:
            body = urlencode(params).encode()
            signed = params
        headers = {
            "X-Twilio-Signature": twilio_signature(self.auth_token, url, dict(signed)),
            "User-Agent": "TwilioProxy/1.1",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        target = self.route(url)
        for _attempt in range(2):
            delivery = await send(
                self.session,
                url=url,
                target=target,
                body=body,
                headers=headers,
                seconds=WEBHOOK_TIMEOUT,
                method=method.upper(),
            )
            self.deliveries.append(delivery)
            if delivery.error != "connection":
                break
        return delivery

    # ---- HTTP ----------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[len("Basic ") :], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        return decoded == f"{self.account_sid}:{self.auth_token}"

    def deny(self, request: web.Request, *, account_in_path: bool = True) -> web.Response | None:
        """401 unless the request carries this account's basic auth (and is for this account)."""
        wrong_account = account_in_path and request.match_info.get("sid") != self.account_sid
        if not self._authorized(request) or wrong_account:
            return twilio_error(401, 20003, "Authenticate")
        return None

    async def _send(self, request: web.Request) -> web.StreamResponse:
        at = time.monotonic()
        form = await request.post()
        params: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
        # MediaUrl repeats once per attachment.
        params["MediaUrl"] = [v for v in form.getall("MediaUrl", []) if isinstance(v, str)]
        fault = self._pick_fault(request, params)
        sid = new_sid("SM")
        self.attempts.append(
            {
                **params,
                "at": at,
                "sid": None if fault else sid,
                "status": fault.status if fault else 201,
                "code": fault.code if fault else None,
            }
        )
        if fault is None:
            self.messages.append({**params, "sid": sid, "at": at})
        await self._simulate_latency()
        if fault is not None:
            return twilio_error(fault.status, fault.code, fault.message)
        response = web.json_response(self._message_json(sid, params), status=201)
        if self.delivering and params.get("StatusCallback"):
            # Callbacks follow the answer, never precede it.
            await response.prepare(request)
            await response.write_eof()
            self.texts.after_send(sid, params)
        return response

    def _pick_fault(self, request: web.Request, params: dict[str, Any]) -> _Fault | None:
        if not self._authorized(request) or request.match_info["sid"] != self.account_sid:
            return _Fault(401, 20003, "Authenticate")
        if self._next_faults:
            return self._next_faults.pop(0)
        now = time.monotonic()
        for since, until, fault in self._outages:
            if since <= now < until:
                return fault
        if not params.get("To"):
            return _Fault(400, 21604, "A 'To' phone number is required.")
        if not params.get("From"):
            return _Fault(400, 21603, "A 'From' phone number is required.")
        if not params.get("Body") and not params["MediaUrl"]:
            return _Fault(400, 21602, "Message body is required.")
        if self.texts.blocked(params["From"], params["To"]):
            return _Fault(400, 21610, "Attempt to send to unsubscribed recipient")
        return self._number_faults.get(params["To"])

    def _message_json(self, sid: str, params: dict[str, Any]) -> dict[str, Any]:
        now = rfc2822_now()
        body = params.get("Body", "")
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "to": params["To"],
            "from": params["From"],
            "body": body,
            "status": "queued",
            "direction": "outbound-api",
            "num_segments": str(count_segments(body)),
            "num_media": str(len(params["MediaUrl"])),
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "error_code": None,
            "error_message": None,
            "price": None,
            "price_unit": "USD",
            "messaging_service_sid": None,
            "uri": f"{uri}.json",
            "subresource_uris": {"media": f"{uri}/Media.json"},
        }

    async def _get_account(self, request: web.Request) -> web.Response:
        """GET of the account itself: what a health check asks for."""
        if (denied := self.deny(request)) is not None:
            return denied
        await self._simulate_latency()
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}.json"
        return web.json_response(
            {
                "sid": self.account_sid,
                "friendly_name": "Test account",
                "status": self.account_status,
                "type": self.account_type,
                "uri": uri,
            }
        )
