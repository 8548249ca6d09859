"""Twilio REST API stand-in: Messages.json for twilio's Client, plus basic-auth media URLs.

Point a real client at it with `client.api.base_url = standin.url`; leave edge/region
(and TWILIO_EDGE/TWILIO_REGION) unset or Client.request rewrites the hostname.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any

from aiohttp import web

from bot.simulators._server import LoopbackServer

DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_AUTH_TOKEN = "test-auth-token"
API_VERSION = "2010-04-01"

# Codes Twilio uses for generic HTTP failures.
_DEFAULT_CODES = {401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}


@dataclass
class _Fault:
    status: int
    code: int
    message: str


def twilio_error(status: int, code: int, message: str) -> web.Response:
    """An error body in the legacy shape twilio-python turns into TwilioRestException."""
    body = {
        "code": code,
        "message": message,
        "status": status,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
    }
    return web.json_response(body, status=status)


class TwilioStandIn(LoopbackServer):
    """Loopback Twilio API. Pass `url` as `client.api.base_url`."""

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        latency: float = 0.0,
    ) -> None:
        super().__init__(latency)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[dict[str, Any]] = []  # accepted sends
        self.attempts: list[dict[str, Any]] = []  # every Messages.json POST, incl. failures
        self.media_fetches: list[str] = []  # names of successfully served media
        self._media: dict[str, tuple[bytes, str]] = {}
        self._number_faults: dict[str, _Fault] = {}
        self._next_faults: list[_Fault] = []
        self._outages: list[tuple[float, float, _Fault]] = []  # (from, until, fault)
        self.app.router.add_post(f"/{API_VERSION}/Accounts/{{sid}}/Messages.json", self._send)
        self.app.router.add_get(f"/{API_VERSION}/Accounts/{{sid}}.json", self._get_account)
        self.app.router.add_get("/media/{name}", self._get_media)

    @property
    def url(self) -> str:
        return self.origin

    # ---- configuration -------------------------------------------------------------

    def fail_for_number(
        self,
        to: str,
        code: int = 21610,
        status: int = 400,
        message: str = "Attempt to send to unsubscribed recipient",
    ) -> None:
        """Every send to `to` fails (21610 = recipient replied STOP)."""
        self._number_faults[to] = _Fault(status, code, message)

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

    def add_media(self, name: str, data: bytes, content_type: str = "image/jpeg") -> str:
        """Serve `data` at the returned URL, behind the account's basic auth."""
        self._media[name] = (data, content_type)
        return f"{self.origin}/media/{name}"

    # ---- inspection ----------------------------------------------------------------

    def messages_to(self, number: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("To") == number]

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

    async def _send(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        form = await request.post()
        params: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
        # MediaUrl repeats once per attachment.
        params["MediaUrl"] = [v for v in form.getall("MediaUrl", []) if isinstance(v, str)]
        fault = self._pick_fault(request, params)
        sid = "SM" + secrets.token_hex(16)
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
        return web.json_response(self._message_json(sid, params), status=201)

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
        return self._number_faults.get(params["To"])

    def _message_json(self, sid: str, params: dict[str, Any]) -> dict[str, Any]:
        now = format_datetime(datetime.now(UTC))
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
            "num_segments": str(_segments(body)),
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
        if not self._authorized(request) or request.match_info["sid"] != self.account_sid:
            return twilio_error(401, 20003, "Authenticate")
        await self._simulate_latency()
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}.json"
        return web.json_response(
            {
                "sid": self.account_sid,
                "friendly_name": "Test account",
                "status": "active",
                "type": "Full",
                "uri": uri,
            }
        )

    async def _get_media(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return twilio_error(401, 20003, "Authenticate")
        name = request.match_info["name"]
        if name not in self._media:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        data, content_type = self._media[name]
        self.media_fetches.append(name)
        await self._simulate_latency()
        return web.Response(body=data, content_type=content_type)


def _segments(body: str) -> int:
    # Approximation: ASCII counts as GSM-7 (160, or 153 per part), anything else UCS-2.
    single, multi = (160, 153) if body.isascii() else (70, 67)
    return 1 if len(body) <= single else -(-len(body) // multi)
