"""Texts as Twilio handles them: inbound webhooks, its own keyword handling, status callbacks.

Keyword handling on a long code (Twilio's defaults, shared/PLATFORM.md "Twilio SMS"): a text
that is one opt-out word (STOP, UNSUBSCRIBE, END, QUIT, STOPALL, REVOKE, OPTOUT, CANCEL), opt-in
word (START, YES, UNSTOP) or help word (HELP, INFO), in any case, alone (surrounding whitespace
and punctuation trimmed), gets Twilio's own reply; an opt-out blocks later sends from that number
(or, for a number in a Messaging Service, from the service) to the texter with 21610 until they
opt back in. The text still reaches our webhook. OptOutType is added only for a number in a
Messaging Service with Advanced Opt-Out on; on a plain number nothing says Twilio answered.
On a toll-free number YES does not opt back in (the carrier handles those keywords).

Twilio's replies are kept in `auto_replies`, never in the simulator's `messages` (our sends).
"""

from __future__ import annotations

import string
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from bot.simulators.twilio_common import API_VERSION, new_sid
from bot.simulators.webhooks import Delivery

if TYPE_CHECKING:
    from bot.simulators.twilio import TwilioStandIn

Keyword = Literal["STOP", "START", "HELP"]

OPT_OUT_WORDS = frozenset(
    {"STOP", "UNSUBSCRIBE", "END", "QUIT", "STOPALL", "REVOKE", "OPTOUT", "CANCEL"}
)
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
TOLL_FREE_PREFIXES = ("+1800", "+1833", "+1844", "+1855", "+1866", "+1877", "+1888")

# Twilio's default long-code replies.
DEFAULT_REPLIES: dict[Keyword, str] = {
    "STOP": (
        "You have successfully been unsubscribed. You will not receive any more messages "
        "from this number. Reply START to resubscribe."
    ),
    "START": (
        "You have successfully been re-subscribed to messages from this number. Reply HELP "
        "for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply."
    ),
    "HELP": "Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
}

# GSM 03.38: the basic table (escape excluded) and the extension table (2 septets each).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


def count_segments(body: str) -> int:
    """SMS segments: GSM-7 160 (153 a part), UCS-2 70 (67) if any character is outside GSM-7."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in body):
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in body)
        single, part = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, part = 70, 67
    return 1 if units <= single else -(-units // part)


def keyword(body: str, *, toll_free: bool = False) -> Keyword | None:
    """The keyword class a text is, if Twilio treats it as one."""
    word = body.strip(string.whitespace + string.punctuation).upper()
    if word in OPT_OUT_WORDS:
        return "STOP"
    if word in OPT_IN_WORDS and not (toll_free and word == "YES"):
        return "START"
    if word in HELP_WORDS:
        return "HELP"
    return None


def twiml_messages(document: str) -> list[str]:
    """Bodies of the <Message> verbs in a messaging TwiML answer (what Twilio then sends)."""
    try:
        root = ET.fromstring(document)
    except ET.ParseError:
        return []
    bodies = []
    for message in root.iter("Message"):
        body = message.find("Body")
        bodies.append((body.text if body is not None else message.text) or "")
    return bodies


@dataclass
class TextIn:
    """One text a caller sent: what our webhook got, and what Twilio did around it."""

    params: dict[str, str]
    delivery: Delivery | None  # None: the number's texts go to no URL of ours
    keyword: Keyword | None = None
    auto_reply: str | None = None  # Twilio's own answer to a keyword
    twiml_replies: list[str] = field(default_factory=list)  # <Message>s Twilio sent for us
    refused_replies: list[str] = field(default_factory=list)  # <Message>s blocked by opt-out

    @property
    def message_sid(self) -> str:
        return self.params["MessageSid"]


class Texts:
    """Inbound texts, the opt-out list Twilio keeps, and status callbacks of our sends."""

    def __init__(self, sim: TwilioStandIn) -> None:
        self.sim = sim
        self.received: list[TextIn] = []
        self.auto_replies: list[dict[str, str]] = []  # {"From", "To", "Body", "keyword", "by"}
        self.status_callbacks: list[dict[str, Any]] = []  # params posted, plus "delivery"
        self.delivery_faults: dict[str, tuple[str, int]] = {}  # To -> (status, ErrorCode)
        self.callbacks_out_of_order = False  # Twilio does not promise their order
        self._opted_out: set[tuple[str, str]] = set()  # (our number or MG sid, texter)

    # ---- opt-out list ------------------------------------------------------------------

    def _sender_key(self, number: str) -> str:
        service = self.sim.numbers.service_for(number)
        return service.sid if service else number

    def blocked(self, from_: str, to: str) -> bool:
        """Twilio refuses a send from `from_` to `to` (the texter opted out)."""
        return (self._sender_key(from_), to) in self._opted_out

    # ---- a caller texts in ----------------------------------------------------------------

    async def text_in(
        self, from_: str, to: str, body: str, *, media: Sequence[tuple[bytes, str]] = ()
    ) -> TextIn:
        if not self.sim.delivering:
            raise RuntimeError("webhooks are off: call deliver_to(app_url, public_url) first")
        sid = new_sid("MM" if media else "SM")
        service = self.sim.numbers.service_for(to)
        params = {
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "AccountSid": self.sim.account_sid,
            "From": from_,
            "To": to,
            "Body": body,
            "NumMedia": str(len(media)),
            "NumSegments": str(count_segments(body)),
            "SmsStatus": "received",
            "ApiVersion": API_VERSION,
            "FromCountry": "US" if from_.startswith("+1") else "",
            "ToCountry": "US" if to.startswith("+1") else "",
        }
        if service:
            params["MessagingServiceSid"] = service.sid
        for index, (data, content_type) in enumerate(media):
            params[f"MediaUrl{index}"] = self.sim.media.store(sid, data, content_type)
            params[f"MediaContentType{index}"] = content_type
        record = TextIn(params, None, keyword(body, toll_free=to.startswith(TOLL_FREE_PREFIXES)))
        if record.keyword:
            self._answer_keyword(record, service is not None and service.advanced_opt_out)
        webhook = self.sim.numbers.sms_webhook(to)
        if webhook is not None:
            record.delivery = await self.sim.webhook(webhook[0], params, webhook[1])
            if record.delivery.ok:
                for reply in twiml_messages(record.delivery.text):
                    refused = self.blocked(to, from_)
                    (record.refused_replies if refused else record.twiml_replies).append(reply)
        self.received.append(record)
        return record

    def _answer_keyword(self, record: TextIn, advanced_opt_out: bool) -> None:
        texter, ours = record.params["From"], record.params["To"]
        word = record.keyword
        assert word is not None
        if word == "STOP":
            self._opted_out.add((self._sender_key(ours), texter))
        elif word == "START":
            self._opted_out.discard((self._sender_key(ours), texter))
        record.auto_reply = DEFAULT_REPLIES[word]
        self.auto_replies.append(
            {"From": ours, "To": texter, "Body": record.auto_reply, "keyword": word, "by": "twilio"}
        )
        if advanced_opt_out:
            record.params["OptOutType"] = word

    # ---- status callbacks of our sends ----------------------------------------------------

    def after_send(self, sid: str, params: dict[str, Any]) -> None:
        """Twilio accepted a send with a StatusCallback: report how it went, as Twilio does."""
        to = params["To"]
        steps: list[tuple[str, int | None]]
        if to in self.delivery_faults:
            status, code = self.delivery_faults[to]
            steps = [(status, code)] if status == "failed" else [("sent", None), (status, code)]
        elif self.sim.numbers.line_type(to) == "landline":
            steps = [("sent", None), ("undelivered", 30006)]
        else:
            steps = [("sent", None), ("delivered", None)]
        if self.callbacks_out_of_order:
            steps.reverse()
        self.sim.spawn(self._report(sid, params, steps))

    async def _report(
        self, sid: str, sent: dict[str, Any], steps: list[tuple[str, int | None]]
    ) -> None:
        for status, code in steps:
            params = {
                "MessageSid": sid,
                "SmsSid": sid,
                "MessageStatus": status,
                "SmsStatus": status,
                "AccountSid": self.sim.account_sid,
                "From": sent.get("From", ""),
                "To": sent["To"],
                "ApiVersion": API_VERSION,
            }
            if code is not None:
                params["ErrorCode"] = str(code)
            delivery = await self.sim.webhook(sent["StatusCallback"], params)
            self.status_callbacks.append({**params, "delivery": delivery})
