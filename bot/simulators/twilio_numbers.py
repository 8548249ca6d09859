"""The account's phone numbers as Twilio keeps them, and which URL Twilio calls for each.

Modelled resources (all on the simulator's one origin; see twilio.point_twilio_client):
- api.twilio.com  /2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json (list, `PhoneNumber=`
  filter) and /IncomingPhoneNumbers/{PN...}.json (fetch, update);
- messaging.twilio.com  /v1/Services, /v1/Services/{MG...} (fetch, update) and
  /v1/Services/{MG...}/PhoneNumbers (list, add);
- lookups.twilio.com  /v2/PhoneNumbers/{number}?Fields=line_type_intelligence.

Routing, as Twilio documents it: a number's voice_application_sid or trunk_sid overrides its
voice URL, sms_application_sid its SMS URL, and a Messaging Service's inbound request URL wins
over the number's unless the service has use_inbound_webhook_on_number; a service with neither
drops its numbers' inbound texts. A number the simulator
was never told about, and a voice_url or sms_url never set here (None), go to PUBLIC_URL +
/twilio/voice and /twilio/sms, as if setup had pointed them at our app; "" means unset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.simulators.twilio_common import API_VERSION, new_sid, not_found, rfc2822_now, twilio_error

if TYPE_CHECKING:
    from bot.simulators.twilio import TwilioStandIn

# What a number's form field is called in the API -> the attribute here.
_NUMBER_FIELDS = {
    "FriendlyName": "friendly_name",
    "VoiceUrl": "voice_url",
    "VoiceMethod": "voice_method",
    "SmsUrl": "sms_url",
    "SmsMethod": "sms_method",
    "StatusCallback": "status_callback",
    "StatusCallbackMethod": "status_callback_method",
    "VoiceApplicationSid": "voice_application_sid",
    "SmsApplicationSid": "sms_application_sid",
    "TrunkSid": "trunk_sid",
}
_SERVICE_FIELDS = {
    "FriendlyName": "friendly_name",
    "InboundRequestUrl": "inbound_request_url",
    "InboundMethod": "inbound_method",
    "StatusCallback": "status_callback",
}
LINE_TYPES = frozenset(
    {
        "landline",
        "mobile",
        "fixedVoip",
        "nonFixedVoip",
        "personal",
        "tollFree",
        "premium",
        "sharedCost",
        "uan",
        "voicemail",
        "pager",
        "unknown",
    }
)


@dataclass
class IncomingNumber:
    """One IncomingPhoneNumber: where Twilio sends its calls and texts."""

    phone_number: str
    sid: str = field(default_factory=lambda: new_sid("PN"))
    friendly_name: str = ""
    voice_url: str | None = None  # None: our app's /twilio/voice; "": no URL
    voice_method: str = "POST"
    sms_url: str | None = None  # None: our app's /twilio/sms; "": no URL
    sms_method: str = "POST"
    status_callback: str = ""
    status_callback_method: str = "POST"
    voice_application_sid: str = ""
    sms_application_sid: str = ""
    trunk_sid: str = ""
    voice: bool = True  # capabilities
    sms: bool = True
    created: str = field(default_factory=rfc2822_now)

    def url(self, kind: str, public_url: str) -> str:
        """The voice or sms URL in force (the default our app's, under `public_url`)."""
        configured = self.voice_url if kind == "voice" else self.sms_url
        return f"{public_url}/twilio/{kind}" if configured is None else configured

    def to_json(self, account_sid: str, public_url: str) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{account_sid}/IncomingPhoneNumbers/{self.sid}.json"
        return {
            "sid": self.sid,
            "account_sid": account_sid,
            "api_version": API_VERSION,
            "phone_number": self.phone_number,
            "friendly_name": self.friendly_name or self.phone_number,
            "voice_url": self.url("voice", public_url) or None,
            "voice_method": self.voice_method,
            "voice_fallback_url": None,
            "voice_fallback_method": "POST",
            "voice_caller_id_lookup": False,
            "voice_application_sid": self.voice_application_sid or None,
            "voice_receive_mode": "voice",
            "sms_url": self.url("sms", public_url) or None,
            "sms_method": self.sms_method,
            "sms_fallback_url": None,
            "sms_fallback_method": "POST",
            "sms_application_sid": self.sms_application_sid or None,
            "status_callback": self.status_callback or None,
            "status_callback_method": self.status_callback_method,
            "trunk_sid": self.trunk_sid or None,
            "capabilities": {"voice": self.voice, "sms": self.sms, "mms": self.sms, "fax": False},
            "origin": "twilio",
            "status": "in-use",
            "emergency_status": "Inactive",
            "date_created": self.created,
            "date_updated": rfc2822_now(),
            "uri": uri,
        }


@dataclass
class MessagingService:
    """A Messaging Service: a sender pool with its own inbound URL and opt-out handling."""

    friendly_name: str
    sid: str = field(default_factory=lambda: new_sid("MG"))
    inbound_request_url: str = ""
    inbound_method: str = "POST"
    use_inbound_webhook_on_number: bool = False
    status_callback: str = ""
    # Advanced Opt-Out: Twilio then adds OptOutType to the inbound webhook (PLATFORM.md).
    advanced_opt_out: bool = False
    numbers: list[str] = field(default_factory=list)  # PN sids, in the order added
    created: str = field(default_factory=rfc2822_now)

    def to_json(self, account_sid: str, origin: str) -> dict[str, Any]:
        url = f"{origin}/v1/Services/{self.sid}"
        return {
            "sid": self.sid,
            "account_sid": account_sid,
            "friendly_name": self.friendly_name,
            "date_created": self.created,
            "date_updated": rfc2822_now(),
            "inbound_request_url": self.inbound_request_url or None,
            "inbound_method": self.inbound_method,
            "fallback_url": None,
            "fallback_method": "POST",
            "status_callback": self.status_callback or None,
            "sticky_sender": True,
            "mms_converter": True,
            "smart_encoding": True,
            "scan_message_content": "inherit",
            "fallback_to_long_code": False,
            "area_code_geomatch": True,
            "synchronous_validation": True,
            "validity_period": 14400,
            "usecase": "undeclared",
            "us_app_to_person_registered": False,
            "use_inbound_webhook_on_number": self.use_inbound_webhook_on_number,
            "url": url,
            "links": {"phone_numbers": f"{url}/PhoneNumbers"},
        }


def _meta(key: str, url: str) -> dict[str, Any]:
    """The v1 pagination block (one page holds everything here)."""
    return {
        "page": 0,
        "page_size": 50,
        "first_page_url": f"{url}?PageSize=50&Page=0",
        "previous_page_url": None,
        "url": f"{url}?PageSize=50&Page=0",
        "next_page_url": None,
        "key": key,
    }


def national_format(number: str) -> str:
    """(202) 555-0123 for a NANP number; other countries keep the E.164 form here."""
    digits = number[2:]
    if number.startswith("+1") and len(digits) == 10 and digits.isdigit():
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return number


class Numbers:
    """The account's numbers, Messaging Services and Lookup answers."""

    def __init__(self, sim: TwilioStandIn) -> None:
        self.sim = sim
        self.numbers: dict[str, IncomingNumber] = {}  # E.164 -> number
        self.services: dict[str, MessagingService] = {}  # MG sid -> service
        self.line_types: dict[str, str] = {}  # E.164 -> Lookup's line type
        self.default_line_type = "mobile"
        self.lookups: list[str] = []  # numbers looked up, in order (each lookup is paid)
        # Every accepted update, in order: (PN... or MG... sid, the form's fields).
        self.updates: list[tuple[str, dict[str, str]]] = []
        api = f"/{API_VERSION}/Accounts/{{sid}}"
        router = sim.app.router
        router.add_get(f"{api}/IncomingPhoneNumbers.json", self._list_numbers)
        router.add_get(f"{api}/IncomingPhoneNumbers/{{pn}}.json", self._fetch_number)
        router.add_post(f"{api}/IncomingPhoneNumbers/{{pn}}.json", self._update_number)
        router.add_get("/v1/Services", self._list_services)
        router.add_get("/v1/Services/{mg}", self._fetch_service)
        router.add_post("/v1/Services/{mg}", self._update_service)
        router.add_get("/v1/Services/{mg}/PhoneNumbers", self._list_service_numbers)
        router.add_post("/v1/Services/{mg}/PhoneNumbers", self._add_service_number)
        router.add_get("/v2/PhoneNumbers/{number}", self._lookup)

    # ---- configuration -------------------------------------------------------------

    def add(self, phone_number: str, **settings: Any) -> IncomingNumber:
        """Own `phone_number`; settings are IncomingNumber fields (sms_url=..., trunk_sid=...)."""
        number = IncomingNumber(phone_number, **settings)
        self.numbers[phone_number] = number
        return number

    def add_service(
        self, friendly_name: str, numbers: Sequence[str] = (), **settings: Any
    ) -> MessagingService:
        """A Messaging Service holding `numbers` (added to the account if new)."""
        service = MessagingService(friendly_name, **settings)
        for phone in numbers:
            number = self.numbers.get(phone) or self.add(phone)
            service.numbers.append(number.sid)
        self.services[service.sid] = service
        return service

    def use_advanced_opt_out(self, phone_number: str) -> MessagingService:
        """Put `phone_number` in a Messaging Service with Advanced Opt-Out (its own texts keep
        going to the number's URL), so keyword texts reach us with OptOutType."""
        service = self.service_for(phone_number)
        if service is None:
            service = self.add_service(
                "Advanced Opt-Out", numbers=[phone_number], use_inbound_webhook_on_number=True
            )
        service.advanced_opt_out = True
        return service

    def set_line_type(self, phone_number: str, line_type: str) -> None:
        """What Lookup's line_type_intelligence answers for `phone_number` (mobile, landline...)."""
        if line_type not in LINE_TYPES:
            raise ValueError(f"not a Lookup line type: {line_type}")
        self.line_types[phone_number] = line_type

    # ---- queries the other parts use ----------------------------------------------------

    def line_type(self, phone_number: str) -> str:
        return self.line_types.get(phone_number, self.default_line_type)

    def service_for(self, phone_number: str) -> MessagingService | None:
        number = self.numbers.get(phone_number)
        if number is None:
            return None
        return next((s for s in self.services.values() if number.sid in s.numbers), None)

    def sms_webhook(self, to: str) -> tuple[str, str] | None:
        """(url, method) Twilio requests for a text to `to`; None when it goes elsewhere."""
        number = self.numbers.get(to) or IncomingNumber(to)
        service = self.service_for(to)
        if service and not service.use_inbound_webhook_on_number:
            # The Services API: with inbound_request_url null "receiving inbound messages is
            # disabled" for every number of the service, unless it defers to the number's.
            if not service.inbound_request_url:
                return None
            return service.inbound_request_url, service.inbound_method
        url = number.url("sms", self.sim.public_url)
        if number.sms_application_sid or not url:
            return None  # a TwiML App or nothing: not a URL of ours
        return url, number.sms_method

    def voice_webhook(self, to: str) -> tuple[str, str] | None:
        """(url, method) Twilio requests for a call to `to`; None when it goes elsewhere."""
        number = self.numbers.get(to) or IncomingNumber(to)
        url = number.url("voice", self.sim.public_url)
        if number.voice_application_sid or number.trunk_sid or not url:
            return None
        return url, number.voice_method

    def call_status_callback(self, to: str) -> tuple[str, str] | None:
        number = self.numbers.get(to)
        if number is None or not number.status_callback:
            return None
        return number.status_callback, number.status_callback_method

    # ---- HTTP: IncomingPhoneNumbers ----------------------------------------------------

    def _by_sid(self, sid: str) -> IncomingNumber | None:
        return next((n for n in self.numbers.values() if n.sid == sid), None)

    async def _list_numbers(self, request: web.Request) -> web.Response:
        if (denied := self.sim.deny(request)) is not None:
            return denied
        wanted = request.query.get("PhoneNumber", "").replace("*", "")
        name = request.query.get("FriendlyName")
        found = [
            n.to_json(self.sim.account_sid, self.sim.public_url)
            for n in self.numbers.values()
            if wanted in n.phone_number and (name is None or n.friendly_name == name)
        ]
        uri = f"/{API_VERSION}/Accounts/{self.sim.account_sid}/IncomingPhoneNumbers.json"
        return web.json_response(
            {
                "incoming_phone_numbers": found,
                "start": 0,
                "end": max(len(found) - 1, 0),
                "page": 0,
                "page_size": 50,
                "uri": f"{uri}?PageSize=50&Page=0",
                "first_page_uri": f"{uri}?PageSize=50&Page=0",
                "previous_page_uri": None,
                "next_page_uri": None,
            }
        )

    async def _fetch_number(self, request: web.Request) -> web.Response:
        if (denied := self.sim.deny(request)) is not None:
            return denied
        number = self._by_sid(request.match_info["pn"])
        if number is None:
            return not_found(request)
        return web.json_response(number.to_json(self.sim.account_sid, self.sim.public_url))

    async def _update_number(self, request: web.Request) -> web.Response:
        if (denied := self.sim.deny(request)) is not None:
            return denied
        number = self._by_sid(request.match_info["pn"])
        if number is None:
            return not_found(request)
        form = await request.post()
        self.updates.append((number.sid, {k: v for k, v in form.items() if isinstance(v, str)}))
        for name, attribute in _NUMBER_FIELDS.items():
            value = form.get(name)
            if isinstance(value, str):
                setattr(
                    number, attribute, value.upper() if attribute.endswith("_method") else value
                )
        return web.json_response(number.to_json(self.sim.account_sid, self.sim.public_url))

    # ---- HTTP: Messaging Services -------------------------------------------------------

    async def _list_services(self, request: web.Request) -> web.Response:
        if (denied := self.sim.deny(request, account_in_path=False)) is not None:
            return denied
        origin, sid = self.sim.origin, self.sim.account_sid
        services = [s.to_json(sid, origin) for s in self.services.values()]
        return web.json_response(
            {"services": services, "meta": _meta("services", f"{origin}/v1/Services")}
        )

    def _service(self, request: web.Request) -> MessagingService | web.Response:
        service = self.services.get(request.match_info["mg"])
        if service is None:
            return not_found(request)
        return service

    async def _fetch_service(self, request: web.Request) -> web.Response:
        if (denied := self.sim.deny(request, account_in_path=False)) is not None:
            return denied
        service = self._service(request)
        if isinstance(service, web.Response):
            return service
        return web.json_response(service.to_json(self.sim.account_sid, self.sim.origin))

    async def _update_service(self, request: web.Request) -> web.Response:
        if (denied := self.sim.deny(request, account_in_path=False)) is not None:
            return denied
        service = self._service(request)
        if isinstance(service, web.Response):
            return service
        form = await request.post()
        self.updates.append((service.sid, {k: v for k, v in form.items() if isinstance(v, str)}))
        for name, attribute in _SERVICE_FIELDS.items():
            value = form.get(name)
            if isinstance(value, str):
                setattr(service, attribute, value)
        flag = form.get("UseInboundWebhookOnNumber")
        if isinstance(flag, str):
            service.use_inbound_webhook_on_number = flag.lower() == "true"
        return web.json_response(service.to_json(self.sim.account_sid, self.sim.origin))

    def _service_number_json(self, service: MessagingService, number: IncomingNumber) -> Any:
        capabilities = [c for c, on in (("Voice", number.voice), ("SMS", number.sms)) if on]
        return {
            "sid": number.sid,
            "account_sid": self.sim.account_sid,
            "service_sid": service.sid,
            "phone_number": number.phone_number,
            "country_code": "US" if number.phone_number.startswith("+1") else None,
            "capabilities": capabilities + (["MMS"] if number.sms else []),
            "date_created": number.created,
            "date_updated": rfc2822_now(),
            "url": f"{self.sim.origin}/v1/Services/{service.sid}/PhoneNumbers/{number.sid}",
        }

    async def _list_service_numbers(self, request: web.Request) -> web.Response:
        if (denied := self.sim.deny(request, account_in_path=False)) is not None:
            return denied
        service = self._service(request)
        if isinstance(service, web.Response):
            return service
        numbers = [n for sid in service.numbers if (n := self._by_sid(sid)) is not None]
        url = f"{self.sim.origin}/v1/Services/{service.sid}/PhoneNumbers"
        return web.json_response(
            {
                "phone_numbers": [self._service_number_json(service, n) for n in numbers],
                "meta": _meta("phone_numbers", url),
            }
        )

    async def _add_service_number(self, request: web.Request) -> web.Response:
        if (denied := self.sim.deny(request, account_in_path=False)) is not None:
            return denied
        service = self._service(request)
        if isinstance(service, web.Response):
            return service
        form = await request.post()
        number = self._by_sid(str(form.get("PhoneNumberSid", "")))
        if number is None:
            return not_found(request)
        if self.service_for(number.phone_number):
            # A number belongs to one service at most (the error code is not modelled).
            return twilio_error(409, 20409, "Phone Number is already in a Messaging Service")
        service.numbers.append(number.sid)
        return web.json_response(self._service_number_json(service, number), status=201)

    # ---- HTTP: Lookup v2 --------------------------------------------------------------

    async def _lookup(self, request: web.Request) -> web.Response:
        if (denied := self.sim.deny(request, account_in_path=False)) is not None:
            return denied
        number = request.match_info["number"]
        fields = {f.strip() for f in request.query.get("Fields", "").split(",") if f.strip()}
        self.lookups.append(number)
        valid = number.startswith("+") and number[1:].isdigit() and 8 <= len(number) <= 16
        line_type = None
        if valid and "line_type_intelligence" in fields:
            kind = self.line_type(number)
            line_type = {
                "type": kind,
                "carrier_name": "Simulated Wireless" if kind == "mobile" else "Simulated Telco",
                "mobile_country_code": "310" if kind == "mobile" else None,
                "mobile_network_code": "456" if kind == "mobile" else None,
                "error_code": None,
            }
        return web.json_response(
            {
                "calling_country_code": "1" if number.startswith("+1") else None,
                "country_code": "US" if valid and number.startswith("+1") else None,
                "phone_number": number,
                "national_format": national_format(number) if valid else None,
                "valid": valid,
                "validation_errors": [] if valid else ["NOT_A_NUMBER"],
                "caller_name": None,
                "sim_swap": None,
                "call_forwarding": None,
                "line_status": None,
                "line_type_intelligence": line_type,
                "identity_match": None,
                "reassigned_number": None,
                "sms_pumping_risk": None,
                "phone_number_quality_score": None,
                "pre_fill": None,
                "url": f"{self.sim.origin}/v2/PhoneNumbers/{number}",
            }
        )
