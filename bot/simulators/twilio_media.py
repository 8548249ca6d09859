"""Media as Twilio serves it: behind the account's basic auth, then a redirect to its CDN.

A text's MediaUrl (api.twilio.com/2010-04-01/Accounts/AC.../Messages/MM.../Media/ME...) answers
the account's basic auth with a 307 to a pre-signed CDN URL on another host. The CDN must be
fetched without the Authorization header: S3, behind Twilio's CDN, refuses a request that
carries two kinds of auth (400). The CDN here is a second loopback server (another origin, so a
client that drops credentials on a cross-origin redirect, as aiohttp does, behaves as it would
against Twilio), and `cdn_fetches` records whether credentials reached it.

Plain `add_media(name, ...)` URLs (/media/NAME) answer the bytes directly, behind basic auth,
and so do recordings (RecordingUrl: audio/x-wav; `.wav` or `.json` appended as Twilio allows;
MP3 is not modelled).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from bot.simulators._server import LoopbackServer
from bot.simulators.twilio_common import API_VERSION, new_sid, not_found

if TYPE_CHECKING:
    from bot.simulators.twilio import TwilioStandIn

_S3_TWO_AUTHS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidArgument</Code>'
    "<Message>Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
    "Signature query string parameter or the Authorization header should be specified"
    "</Message></Error>"
)


@dataclass
class CdnFetch:
    """One request to the media CDN."""

    name: str
    sent_credentials: bool  # an Authorization header came along (it must not)
    status: int


@dataclass
class _Item:
    name: str
    data: bytes
    content_type: str


class Media:
    """Media and recordings the account serves, and the CDN its media redirect to."""

    def __init__(self, sim: TwilioStandIn) -> None:
        self.sim = sim
        self.fetches: list[str] = []  # names of media served successfully, in order
        self.cdn_fetches: list[CdnFetch] = []
        self.cdn = LoopbackServer()
        self._plain: dict[str, _Item] = {}  # /media/NAME
        self._twilio: dict[tuple[str, str], _Item] = {}  # (MM sid, ME sid)
        self._cdn_items: dict[str, _Item] = {}  # CDN token -> item
        self.recordings: dict[str, _Item] = {}  # RE sid -> the WAV
        sim.app.router.add_get("/media/{name}", self._get_plain)
        media = f"/{API_VERSION}/Accounts/{{sid}}/Messages/{{mm}}/Media/{{me}}"
        sim.app.router.add_get(media, self._get_twilio)
        self.cdn.app.router.add_get("/{token}", self._get_cdn)
        sim.app.router.add_get(
            f"/{API_VERSION}/Accounts/{{sid}}/Recordings/{{re}}", self._recording
        )

    def add(self, name: str, data: bytes, content_type: str, *, redirect: bool = False) -> str:
        if not redirect:
            self._plain[name] = _Item(name, data, content_type)
            return f"{self.sim.origin}/media/{name}"
        return self.store(new_sid("MM"), data, content_type, name=name)

    def store(self, message_sid: str, data: bytes, content_type: str, name: str = "") -> str:
        """Attach media to `message_sid`; returns its Twilio media URL (which redirects)."""
        media_sid = new_sid("ME")
        self._twilio[(message_sid, media_sid)] = _Item(name or media_sid, data, content_type)
        return f"{self._account_url()}/Messages/{message_sid}/Media/{media_sid}"

    def add_recording(self, recording_sid: str, wav: bytes) -> str:
        """Keep a recording's audio; returns its RecordingUrl (no extension, as Twilio sends)."""
        self.recordings[recording_sid] = _Item(recording_sid, wav, "audio/x-wav")
        return f"{self._account_url()}/Recordings/{recording_sid}"

    def _account_url(self) -> str:
        return f"{self.sim.origin}/{API_VERSION}/Accounts/{self.sim.account_sid}"

    async def _recording(self, request: web.Request) -> web.Response:
        if (denied := self.sim.deny(request)) is not None:
            return denied
        sid, _, extension = request.match_info["re"].partition(".")
        item = self.recordings.get(sid)
        if item is None or extension not in ("", "wav", "json"):
            return not_found(request)
        self.fetches.append(item.name + (f".{extension}" if extension else ""))
        if extension == "json":
            return web.json_response(
                {"sid": sid, "account_sid": self.sim.account_sid, "status": "completed"}
            )
        return web.Response(body=item.data, content_type=item.content_type)

    async def _get_plain(self, request: web.Request) -> web.Response:
        if (denied := self.sim.deny(request, account_in_path=False)) is not None:
            return denied
        item = self._plain.get(request.match_info["name"])
        if item is None:
            return not_found(request)
        self.fetches.append(item.name)
        await self.sim._simulate_latency()
        return web.Response(body=item.data, content_type=item.content_type)

    async def _get_twilio(self, request: web.Request) -> web.Response:
        if (denied := self.sim.deny(request)) is not None:
            return denied
        item = self._twilio.get((request.match_info["mm"], request.match_info["me"]))
        if item is None:
            return not_found(request)
        token = secrets.token_urlsafe(24)
        self._cdn_items[token] = item
        await self.sim._simulate_latency()
        raise web.HTTPTemporaryRedirect(f"{self.cdn.origin}/{token}")

    async def _get_cdn(self, request: web.Request) -> web.Response:
        item = self._cdn_items.get(request.match_info["token"])
        if item is None:
            return web.Response(status=403, text="AccessDenied")
        credentials = "Authorization" in request.headers
        status = 400 if credentials else 200
        self.cdn_fetches.append(CdnFetch(item.name, credentials, status))
        if credentials:
            return web.Response(status=400, text=_S3_TWO_AUTHS, content_type="application/xml")
        self.fetches.append(item.name)
        return web.Response(body=item.data, content_type=item.content_type)
