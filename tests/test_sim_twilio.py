"""The Twilio simulator does what Twilio documents, as seen by a small app and the real client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.simulators.twilio import TwilioStandIn, point_twilio_client
from bot.simulators.twilio_messages import DEFAULT_REPLIES, count_segments
from bot.simulators.twilio_voice import Caller, Voicemail
from tests.sim_product import ProductStub, Received, running_stub
from tests.waiting import wait_until

PUBLIC = "https://textback.example.test"
BUSINESS = "+12125550100"
CALLER = "+12025550123"
CREW_A = "+12025550188"
CREW_B = "+12025550189"


@pytest.fixture
async def product() -> AsyncIterator[tuple[ProductStub, str]]:
    async with running_stub() as running:
        yield running


@pytest.fixture
async def sim(product: tuple[ProductStub, str]) -> AsyncIterator[TwilioStandIn]:
    async with TwilioStandIn() as simulator:
        simulator.deliver_to(product[1], PUBLIC)
        yield simulator


@pytest.fixture
def app(product: tuple[ProductStub, str]) -> ProductStub:
    return product[0]


@pytest.fixture
async def client(sim: TwilioStandIn) -> AsyncIterator[Client]:
    http = AsyncTwilioHttpClient()
    twilio = Client(sim.account_sid, sim.auth_token, http_client=http)
    point_twilio_client(twilio, sim.url)
    yield twilio
    await http.close()


def signed(sim: TwilioStandIn, received: Received) -> bool:
    """Our app's check: RequestValidator over PUBLIC_URL + path + query."""
    signature = received.headers.get("X-Twilio-Signature", "")
    params = received.form if received.method == "POST" else {}
    return RequestValidator(sim.auth_token).validate(PUBLIC + received.path_qs, params, signature)


async def send(client: Client, body: str = "Sorry we missed your call", **extra: str) -> str:
    message = await client.messages.create_async(to=CALLER, from_=BUSINESS, body=body, **extra)
    return str(message.sid)


# ---- inbound texts ----------------------------------------------------------------------


async def test_text_in_is_signed_like_twilio(sim: TwilioStandIn, app: ProductStub) -> None:
    text = await sim.text_in(CALLER, BUSINESS, "Can you come Tuesday?")

    [received] = app.to("/twilio/sms")
    assert signed(sim, received)
    form = received.form
    assert form["MessageSid"] == text.message_sid and form["MessageSid"].startswith("SM")
    assert (form["AccountSid"], form["From"], form["To"]) == (sim.account_sid, CALLER, BUSINESS)
    assert (form["Body"], form["NumMedia"], form["NumSegments"]) == (
        "Can you come Tuesday?",
        "0",
        "1",
    )
    assert "OptOutType" not in form
    assert sim.auto_replies == []


async def test_stop_on_a_plain_number(sim: TwilioStandIn, app: ProductStub, client: Client) -> None:
    text = await sim.text_in(CALLER, BUSINESS, "STOP")

    [received] = app.to("/twilio/sms")
    assert received.form["Body"] == "STOP"
    assert "OptOutType" not in received.form  # a plain long code never says Twilio answered
    assert text.auto_reply == DEFAULT_REPLIES["STOP"]
    assert sim.auto_replies == [
        {
            "From": BUSINESS,
            "To": CALLER,
            "Body": DEFAULT_REPLIES["STOP"],
            "keyword": "STOP",
            "by": "twilio",
        }
    ]
    with pytest.raises(TwilioRestException) as refused:
        await send(client)
    assert (refused.value.status, refused.value.code) == (400, 21610)
    assert sim.messages == []  # Twilio's own reply is not one of our sends


@pytest.mark.parametrize("body", ["stop", " Stop! ", "UNSUBSCRIBE", "cancel.", "OptOut", "quit"])
async def test_opt_out_words_in_any_case(sim: TwilioStandIn, body: str) -> None:
    assert (await sim.text_in(CALLER, BUSINESS, body)).keyword == "STOP"


@pytest.mark.parametrize("body", ["stop please", "STOP STOP", "Please stop texting me", "stopp"])
async def test_only_a_single_word_is_a_keyword(sim: TwilioStandIn, body: str) -> None:
    text = await sim.text_in(CALLER, BUSINESS, body)
    assert text.keyword is None and text.auto_reply is None
    assert not sim.texts.blocked(BUSINESS, CALLER)


async def test_advanced_opt_out_adds_opt_out_type(sim: TwilioStandIn, app: ProductStub) -> None:
    service = sim.numbers.add_service(
        "Textback",
        numbers=[BUSINESS],
        inbound_request_url=f"{PUBLIC}/twilio/sms",
        advanced_opt_out=True,
    )
    await sim.text_in(CALLER, BUSINESS, "stop")
    await sim.text_in(CALLER, BUSINESS, "help")

    stop, help_ = app.to("/twilio/sms")
    assert (stop.form["OptOutType"], help_.form["OptOutType"]) == ("STOP", "HELP")
    assert stop.form["MessagingServiceSid"] == service.sid
    assert signed(sim, stop)


async def test_advanced_opt_out_per_number(sim: TwilioStandIn, app: ProductStub) -> None:
    sim.numbers.use_advanced_opt_out(BUSINESS)
    await sim.text_in(CALLER, BUSINESS, "START")
    await sim.text_in(CALLER, "+12125550101", "STOP")  # another number, plain

    ours, plain = app.to("/twilio/sms")
    assert ours.form["OptOutType"] == "START" and "OptOutType" not in plain.form


async def test_yes_lifts_the_block(sim: TwilioStandIn, client: Client) -> None:
    await sim.text_in(CALLER, BUSINESS, "STOP")
    text = await sim.text_in(CALLER, BUSINESS, "yes")

    assert text.auto_reply == DEFAULT_REPLIES["START"]
    await send(client)
    assert [m["To"] for m in sim.messages] == [CALLER]


async def test_yes_does_not_opt_in_on_toll_free(sim: TwilioStandIn) -> None:
    toll_free = "+18885550100"
    await sim.text_in(CALLER, toll_free, "STOP")
    assert (await sim.text_in(CALLER, toll_free, "YES")).keyword is None
    assert sim.texts.blocked(toll_free, CALLER)
    assert (await sim.text_in(CALLER, toll_free, "START")).keyword == "START"
    assert not sim.texts.blocked(toll_free, CALLER)


async def test_help_gets_twilios_reply_and_blocks_nothing(
    sim: TwilioStandIn, app: ProductStub, client: Client
) -> None:
    text = await sim.text_in(CALLER, BUSINESS, "INFO")

    assert text.keyword == "HELP"
    assert text.auto_reply == "Reply STOP to unsubscribe. Msg&Data Rates May Apply."
    assert app.to("/twilio/sms")[0].form["Body"] == "INFO"
    await send(client)


async def test_messaging_twiml_reply_is_sent_unless_opted_out(
    sim: TwilioStandIn, app: ProductStub
) -> None:
    app.answers["/twilio/sms"] = "<Response><Message>Thanks, we got it</Message></Response>"
    first = await sim.text_in(CALLER, BUSINESS, "Hello")
    stop = await sim.text_in(CALLER, BUSINESS, "STOP")

    assert first.twiml_replies == ["Thanks, we got it"]
    assert (stop.twiml_replies, stop.refused_replies) == ([], ["Thanks, we got it"])


async def test_media_redirects_to_a_cdn_that_must_not_get_credentials(
    sim: TwilioStandIn, app: ProductStub
) -> None:
    await sim.text_in(CALLER, BUSINESS, "", media=[(b"\x89PNG photo", "image/png")])
    form = app.to("/twilio/sms")[0].form
    assert (form["NumMedia"], form["MediaContentType0"]) == ("1", "image/png")
    assert form["MessageSid"].startswith("MM")
    url = form["MediaUrl0"]
    auth = {"Authorization": aiohttp.encode_basic_auth(sim.account_sid, sim.auth_token)}

    async with aiohttp.ClientSession() as session:
        async with session.get(url) as anonymous:
            assert anonymous.status == 401
        async with session.get(url, headers=auth, allow_redirects=False) as redirect:
            assert redirect.status == 307
            cdn = redirect.headers["Location"]
        async with session.get(cdn, headers=auth) as leaked:
            assert leaked.status == 400  # S3 refuses a second kind of auth
        async with session.get(url, headers=auth) as followed:  # aiohttp drops it cross-origin
            assert followed.status == 200
            assert await followed.read() == b"\x89PNG photo"

    assert [f.sent_credentials for f in sim.media.cdn_fetches] == [True, False]


def test_segments_count_gsm7_and_ucs2() -> None:
    assert count_segments("a" * 160) == 1
    assert count_segments("a" * 161) == 2
    assert count_segments("{" * 80) == 1  # extension characters count twice
    assert count_segments("{" * 81) == 2
    assert count_segments("’" + "a" * 69) == 1  # one curly quote: all UCS-2
    assert count_segments("’" + "a" * 70) == 2


# ---- status callbacks of our sends --------------------------------------------------------


async def test_status_callbacks_sent_then_delivered(
    sim: TwilioStandIn, app: ProductStub, client: Client
) -> None:
    sid = await send(client, status_callback=f"{PUBLIC}/twilio/sms/status")
    await sim.settled()

    callbacks = app.to("/twilio/sms/status")
    assert [c.form["MessageStatus"] for c in callbacks] == ["sent", "delivered"]
    assert all(signed(sim, c) and c.form["MessageSid"] == sid for c in callbacks)
    assert all("ErrorCode" not in c.form for c in callbacks)


async def test_landline_send_is_undelivered_30006(
    sim: TwilioStandIn, app: ProductStub, client: Client
) -> None:
    sim.numbers.set_line_type(CALLER, "landline")
    await send(client, status_callback=f"{PUBLIC}/twilio/sms/status")
    await sim.settled()

    last = app.to("/twilio/sms/status")[-1].form
    assert (last["MessageStatus"], last["ErrorCode"]) == ("undelivered", "30006")


async def test_delivery_fault_reports_failed_with_its_code(
    sim: TwilioStandIn, app: ProductStub, client: Client
) -> None:
    sim.fail_delivery_to(CALLER, 21610, status="failed")
    await send(client, status_callback=f"{PUBLIC}/twilio/sms/status")
    await sim.settled()

    [only] = app.to("/twilio/sms/status")
    assert (only.form["MessageStatus"], only.form["ErrorCode"]) == ("failed", "21610")


async def test_no_status_callbacks_until_delivery_is_on(app: ProductStub) -> None:
    async with TwilioStandIn() as quiet:
        http = AsyncTwilioHttpClient()
        client = Client(quiet.account_sid, quiet.auth_token, http_client=http)
        point_twilio_client(client, quiet.url)
        await send(client, status_callback=f"{PUBLIC}/twilio/sms/status")
        await http.close()
        await quiet.settled()
        assert quiet.deliveries == [] and app.received == []
        with pytest.raises(RuntimeError, match="deliver_to"):
            await quiet.text_in(CALLER, BUSINESS, "hi")


# ---- voice --------------------------------------------------------------------------------

DIAL = f"""<Response>
  <Dial timeout="20" action="{PUBLIC}/twilio/voice/dial-status">
    <Number url="{PUBLIC}/twilio/voice/screen?parent=x">{CREW_A}</Number>
    <Number url="{PUBLIC}/twilio/voice/screen?parent=x">{CREW_B}</Number>
  </Dial>
  <Say>never heard: the Dial has an action</Say>
</Response>"""
SCREEN = """<Response>
  <Gather numDigits="1" timeout="6" action="/twilio/voice/screen-accept?parent=x">
    <Say>Call for Johnson Electric. Press any key to take it.</Say>
  </Gather>
  <Hangup/>
</Response>"""
MISSED = "<Response><Say>Sorry we missed your call.</Say><Hangup/></Response>"


@pytest.fixture
def screening(app: ProductStub) -> ProductStub:
    app.answers["/twilio/voice"] = DIAL
    app.answers["/twilio/voice/screen"] = SCREEN
    app.answers["/twilio/voice/dial-status"] = MISSED
    return app


async def test_dial_two_numbers_one_answers_and_presses(
    sim: TwilioStandIn, screening: ProductStub
) -> None:
    call = await sim.call_in(
        CALLER, BUSINESS, crew={CREW_A: "no-answer", CREW_B: "answer-and-press"}
    )

    [voice] = screening.to("/twilio/voice")
    assert voice.form["CallStatus"] == "ringing" and voice.form["Direction"] == "inbound"
    assert (voice.form["Caller"], voice.form["Called"]) == (CALLER, BUSINESS)
    [screen] = screening.to("/twilio/voice/screen")
    assert screen.form["To"] == CREW_B
    assert screen.form["ParentCallSid"] == call.call_sid
    assert screen.form["CallSid"] != call.call_sid
    [accept] = screening.to("/twilio/voice/screen-accept")
    assert accept.form["Digits"] == "1" and accept.path_qs.endswith("?parent=x")
    [status] = screening.to("/twilio/voice/dial-status")
    assert status.form["DialCallStatus"] == "completed"
    assert status.form["DialBridged"] == "true"
    assert status.form["DialCallSid"] == screen.form["CallSid"]
    assert all(signed(sim, r) for r in screening.received)
    assert [(leg.number, leg.status) for leg in call.legs] == [
        (CREW_A, "canceled"),
        (CREW_B, "completed"),
    ]
    assert call.heard == ["Sorry we missed your call."]
    assert call.legs[1].heard == ["Call for Johnson Electric. Press any key to take it."]
    assert call.dial_timeout == 20


async def test_first_leg_to_answer_wins_even_a_voicemail(
    sim: TwilioStandIn, screening: ProductStub
) -> None:
    call = await sim.call_in(
        CALLER, BUSINESS, crew={CREW_A: "voicemail", CREW_B: "answer-and-press"}
    )

    assert [s.form["To"] for s in screening.to("/twilio/voice/screen")] == [CREW_A]
    assert screening.to("/twilio/voice/screen-accept") == []  # the box pressed nothing
    status = screening.to("/twilio/voice/dial-status")[0].form
    assert (status["DialCallStatus"], status["DialBridged"]) == ("completed", "false")
    assert [leg.status for leg in call.legs] == ["completed", "canceled"]


@pytest.mark.parametrize(
    ("crew", "expected"),
    [
        ({CREW_A: "no-answer", CREW_B: "no-answer"}, "no-answer"),
        ({CREW_A: "busy", CREW_B: "busy"}, "busy"),
        ({CREW_A: "busy", CREW_B: "no-answer"}, "no-answer"),
        ({CREW_A: "failed", CREW_B: "failed"}, "failed"),
    ],
)
async def test_dial_nobody_answers(
    sim: TwilioStandIn, screening: ProductStub, crew: dict[str, str], expected: str
) -> None:
    call = await sim.call_in(CALLER, BUSINESS, crew=crew)  # type: ignore[arg-type]

    assert screening.to("/twilio/voice/screen") == []
    form = screening.to("/twilio/voice/dial-status")[0].form
    assert form["DialCallStatus"] == expected and "DialBridged" not in form
    assert call.dial_status == expected


@pytest.mark.parametrize(
    ("crew", "status"), [("no-answer", "no-answer"), ("answer-and-press", "completed")]
)
async def test_in_real_time_the_dial_rings_before_its_outcome(
    sim: TwilioStandIn, screening: ProductStub, crew: str, status: str
) -> None:
    """The demo's calls ring as Twilio's do: the crew's phone is seen ringing, and the <Dial>
    action comes only once it was answered or its timeout ran out."""
    sim.voice.real_time = True
    sim.voice.pick_up_after = 0.5
    screening.answers["/twilio/voice"] = DIAL.replace('timeout="20"', 'timeout="1"')
    call = asyncio.create_task(sim.call_in(CALLER, BUSINESS, crew={CREW_A: crew}))  # type: ignore[dict-item]

    ringing = await wait_until(lambda: sim.voice.calls and sim.voice.calls[0].legs)
    assert [leg.status for leg in ringing] == ["ringing", "ringing"]
    assert screening.to("/twilio/voice/dial-status") == []
    record = await call
    [dialled] = screening.to("/twilio/voice/dial-status")
    assert dialled.form["DialCallStatus"] == status == record.dial_status


async def test_say_hangup_ends_the_call(sim: TwilioStandIn, app: ProductStub) -> None:
    app.answers["/twilio/voice"] = MISSED
    call = await sim.call_in(CALLER, BUSINESS)
    assert (call.heard, call.ended, call.status) == (
        ["Sorry we missed your call."],
        "hangup",
        "completed",
    )


async def test_a_broken_answer_is_an_application_error(
    sim: TwilioStandIn, app: ProductStub
) -> None:
    app.answers["/twilio/voice"] = "<html>oops</html>"
    call = await sim.call_in(CALLER, BUSINESS)
    assert call.ended == "error"
    assert call.heard == ["We are sorry, an application error has occurred. Goodbye."]


VOICEMAIL = f"""<Response>
  <Say>Please leave a message.</Say>
  <Record maxLength="120" transcribe="true"
          recordingStatusCallback="{PUBLIC}/twilio/voice/recording"
          transcribeCallback="{PUBLIC}/twilio/voice/transcription"/>
</Response>"""


async def test_record_with_transcription(sim: TwilioStandIn, screening: ProductStub) -> None:
    screening.answers["/twilio/voice/dial-status"] = VOICEMAIL
    message = Voicemail(12, "Hi, my kitchen sink is leaking")
    call = await sim.call_in(
        CALLER, BUSINESS, crew={CREW_A: "no-answer"}, caller=Caller(voicemail=message)
    )

    [recording] = screening.to("/twilio/voice/recording")
    form = recording.form
    assert (form["RecordingStatus"], form["RecordingDuration"]) == ("completed", "12")
    assert form["RecordingSid"].startswith("RE") and form["CallSid"] == call.call_sid
    [transcription] = screening.to("/twilio/voice/transcription")
    text = transcription.form
    assert (text["TranscriptionStatus"], text["TranscriptionText"]) == (
        "completed",
        "Hi, my kitchen sink is leaking",
    )
    assert (text["RecordingSid"], text["RecordingUrl"]) == (
        form["RecordingSid"],
        form["RecordingUrl"],
    )
    assert signed(sim, recording) and signed(sim, transcription)
    assert call.heard == ["Please leave a message."]
    auth = {"Authorization": aiohttp.encode_basic_auth(sim.account_sid, sim.auth_token)}
    async with aiohttp.ClientSession() as session:
        async with session.get(form["RecordingUrl"]) as anonymous:
            assert anonymous.status == 401
        async with session.get(form["RecordingUrl"], headers=auth) as audio:
            assert audio.status == 200 and (await audio.read())[:4] == b"RIFF"


@pytest.mark.parametrize("seconds", [1, 121])
async def test_no_transcription_outside_two_seconds_to_two_minutes(
    sim: TwilioStandIn, app: ProductStub, seconds: int
) -> None:
    app.answers["/twilio/voice"] = VOICEMAIL.replace('maxLength="120"', 'maxLength="300"')
    await sim.call_in(CALLER, BUSINESS, caller=Caller(voicemail=Voicemail(seconds, "words")))
    assert len(app.to("/twilio/voice/recording")) == 1
    assert app.to("/twilio/voice/transcription") == []


async def test_caller_who_says_nothing_leaves_no_recording(
    sim: TwilioStandIn, app: ProductStub
) -> None:
    app.answers["/twilio/voice"] = VOICEMAIL
    call = await sim.call_in(CALLER, BUSINESS)
    assert call.recording is None and app.to("/twilio/voice/recording") == []


async def test_calls_api_places_and_drives_a_call(
    sim: TwilioStandIn, app: ProductStub, client: Client
) -> None:
    app.answers["/call-back"] = (
        '<Response><Gather numDigits="1" action="/call-back/pressed">'
        "<Say>Press 1 to call the customer back.</Say></Gather></Response>"
    )
    app.answers["/call-back/pressed"] = (
        f"<Response><Dial><Number>{CALLER}</Number></Dial></Response>"
    )
    sim.voice.phones[CREW_A] = "answer-and-press"
    sim.voice.phones[CALLER] = "answer-and-press"
    call = await client.calls.create_async(
        to=CREW_A,
        from_=BUSINESS,
        url=f"{PUBLIC}/call-back",
        status_callback=f"{PUBLIC}/call-status",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
    )
    assert call.sid.startswith("CA") and call.status == "queued"
    await sim.settled()

    [placed] = sim.voice.api_calls
    assert (placed["To"], placed["Url"], placed["sid"]) == (CREW_A, f"{PUBLIC}/call-back", call.sid)
    assert app.to("/call-back")[0].form["Direction"] == "outbound-api"
    assert app.to("/call-back/pressed")[0].form["Digits"] == "1"
    events = [r.form["CallStatus"] for r in app.to("/call-status")]
    assert events == ["initiated", "ringing", "in-progress", "completed"]
    record = placed["record"]
    assert [(leg.number, leg.status, leg.bridged) for leg in record.legs] == [
        (CALLER, "completed", True)
    ]


async def test_calls_api_callee_not_answering(
    sim: TwilioStandIn, app: ProductStub, client: Client
) -> None:
    await client.calls.create_async(
        to=CREW_A, from_=BUSINESS, url=f"{PUBLIC}/call-back", status_callback=f"{PUBLIC}/cs"
    )
    await sim.settled()
    assert app.to("/call-back") == []
    assert [r.form["CallStatus"] for r in app.to("/cs")] == ["no-answer"]


async def test_calls_api_with_inline_twiml(sim: TwilioStandIn, client: Client) -> None:
    sim.voice.phones[CREW_A] = "voicemail"
    await client.calls.create_async(
        to=CREW_A, from_=BUSINESS, twiml="<Response><Say>New lead waiting.</Say></Response>"
    )
    await sim.settled()
    [placed] = sim.voice.api_calls
    assert (placed["record"].heard, placed["record"].status) == (["New lead waiting."], "completed")


async def test_calls_api_needs_to_from_and_what_to_run(client: Client) -> None:
    with pytest.raises(TwilioRestException) as refused:
        await client.calls.create_async(to=CREW_A, from_=BUSINESS)
    assert refused.value.status == 400


async def test_calls_api_refuses_a_number_as_twilio_does_and_places_nothing(
    sim: TwilioStandIn, client: Client
) -> None:
    sim.voice.fail_calls_to(CREW_A)  # geo permissions, for good
    sim.voice.fail_calls_to(CREW_B, code=20503, status=503, message="busy", times=1)
    for _ in range(2):
        with pytest.raises(TwilioRestException) as refused:
            await client.calls.create_async(to=CREW_A, from_=BUSINESS, url=f"{PUBLIC}/x")
        assert (refused.value.status, refused.value.code) == (400, 21215)
    with pytest.raises(TwilioRestException) as unavailable:
        await client.calls.create_async(to=CREW_B, from_=BUSINESS, url=f"{PUBLIC}/x")
    assert (unavailable.value.status, unavailable.value.code) == (503, 20503)
    assert sim.voice.api_calls == []
    placed = await client.calls.create_async(to=CREW_B, from_=BUSINESS, url=f"{PUBLIC}/x")
    assert [c["sid"] for c in sim.voice.api_calls] == [placed.sid]


# ---- numbers, services, lookup ----------------------------------------------------------


async def test_incoming_phone_numbers_list_and_update(
    sim: TwilioStandIn, app: ProductStub, client: Client
) -> None:
    sim.numbers.add(BUSINESS, voice_url="https://demo.twilio.com/welcome/voice/")
    sim.numbers.add("+12125550101")

    [number] = await client.incoming_phone_numbers.list_async(phone_number=BUSINESS)
    assert number.voice_url == "https://demo.twilio.com/welcome/voice/"
    assert number.capabilities == {"voice": True, "sms": True, "mms": True, "fax": False}
    assert (await sim.call_in(CALLER, BUSINESS)).ended == "error"  # not our app
    updated = await client.incoming_phone_numbers(number.sid).update_async(
        voice_url=f"{PUBLIC}/twilio/voice",
        voice_method="POST",
        sms_url=f"{PUBLIC}/twilio/sms",
        status_callback=f"{PUBLIC}/twilio/voice/status",
    )

    assert updated.voice_url == f"{PUBLIC}/twilio/voice"
    fetched = await client.incoming_phone_numbers(number.sid).fetch_async()
    assert (fetched.sms_url, fetched.status_callback) == (
        f"{PUBLIC}/twilio/sms",
        f"{PUBLIC}/twilio/voice/status",
    )
    app.answers["/twilio/voice"] = MISSED
    await sim.call_in(CALLER, BUSINESS)
    assert app.to("/twilio/voice/status")[0].form["CallStatus"] == "completed"
    assert len(await client.incoming_phone_numbers.list_async()) == 2
    [(sid, form)] = sim.numbers.updates
    assert (sid, form["VoiceUrl"]) == (number.sid, f"{PUBLIC}/twilio/voice")


async def test_voice_application_overrides_the_voice_url(
    sim: TwilioStandIn, app: ProductStub
) -> None:
    sim.numbers.add(BUSINESS, voice_url=f"{PUBLIC}/twilio/voice", voice_application_sid="AP1")
    call = await sim.call_in(CALLER, BUSINESS)
    assert call.ended == "unrouted" and app.received == []


async def test_messaging_services_listing_and_inbound_url(
    sim: TwilioStandIn, app: ProductStub, client: Client
) -> None:
    sim.numbers.add(BUSINESS, sms_url=f"{PUBLIC}/twilio/sms")
    service = sim.numbers.add_service(
        "Old CRM", numbers=[BUSINESS], inbound_request_url=f"{PUBLIC}/crm/inbound"
    )

    [listed] = await client.messaging.v1.services.list_async()
    assert (listed.sid, listed.friendly_name) == (service.sid, "Old CRM")
    assert listed.use_inbound_webhook_on_number is False
    [member] = await client.messaging.v1.services(service.sid).phone_numbers.list_async()
    assert member.phone_number == BUSINESS
    await sim.text_in(CALLER, BUSINESS, "first")  # the service's URL wins
    await client.messaging.v1.services(service.sid).update_async(use_inbound_webhook_on_number=True)
    await sim.text_in(CALLER, BUSINESS, "second")  # now the number's own

    assert [r.form["Body"] for r in app.to("/crm/inbound")] == ["first"]
    assert [r.form["Body"] for r in app.to("/twilio/sms")] == ["second"]
    assert service.use_inbound_webhook_on_number


async def test_a_messaging_service_without_inbound_url_drops_its_numbers_texts(
    sim: TwilioStandIn, app: ProductStub, client: Client
) -> None:
    """The Services API: inbound_request_url null disables receiving, unless the service
    defers to the number's own webhook."""
    sim.numbers.add(BUSINESS, sms_url=f"{PUBLIC}/twilio/sms")
    service = sim.numbers.add_service("Notifications", numbers=[BUSINESS])

    dropped = await sim.text_in(CALLER, BUSINESS, "anyone there?")
    await client.messaging.v1.services(service.sid).update_async(use_inbound_webhook_on_number=True)
    await sim.text_in(CALLER, BUSINESS, "hello?")

    assert dropped.delivery is None
    assert [r.form["Body"] for r in app.to("/twilio/sms")] == ["hello?"]


async def test_the_account_resource_says_its_status_and_type(
    sim: TwilioStandIn, client: Client
) -> None:
    active = await client.api.v2010.accounts(sim.account_sid).fetch_async()
    sim.account_status, sim.account_type = "suspended", "Trial"
    suspended = await client.api.v2010.accounts(sim.account_sid).fetch_async()

    assert (active.status, active.type) == ("active", "Full")
    assert (suspended.status, suspended.type) == ("suspended", "Trial")


async def test_lookup_line_type_intelligence(sim: TwilioStandIn, client: Client) -> None:
    sim.numbers.set_line_type(CALLER, "landline")

    landline = await client.lookups.v2.phone_numbers(CALLER).fetch_async(
        fields="line_type_intelligence"
    )
    mobile = await client.lookups.v2.phone_numbers(CREW_A).fetch_async(
        fields="line_type_intelligence"
    )
    bare = await client.lookups.v2.phone_numbers(CREW_A).fetch_async()

    assert landline.line_type_intelligence["type"] == "landline"  # type: ignore[index]
    assert mobile.line_type_intelligence["type"] == "mobile"  # type: ignore[index]
    assert (bare.valid, bare.line_type_intelligence) == (True, None)
    assert landline.national_format == "(202) 555-0123"
    assert sim.numbers.lookups == [CALLER, CREW_A, CREW_A]


async def test_every_domain_needs_the_accounts_credentials(sim: TwilioStandIn) -> None:
    http = AsyncTwilioHttpClient()
    wrong = Client(sim.account_sid, "not-the-token", http_client=http)
    point_twilio_client(wrong, sim.url)
    try:
        # A list answers TwilioException ("Unable to fetch page"), a fetch TwilioRestException.
        with pytest.raises(TwilioException, match="401"):
            await wrong.incoming_phone_numbers.list_async()
        with pytest.raises(TwilioException, match="401"):
            await wrong.messaging.v1.services.list_async()
        with pytest.raises(TwilioRestException) as refused:
            await wrong.lookups.v2.phone_numbers(CALLER).fetch_async()
        assert refused.value.status == 401
    finally:
        await http.close()


async def test_settled_waits_for_callbacks(
    sim: TwilioStandIn, app: ProductStub, client: Client
) -> None:
    await send(client, status_callback=f"{PUBLIC}/twilio/sms/status")
    await wait_until(lambda: len(app.to("/twilio/sms/status")) == 2, timeout=5)
    await sim.settled()
    assert len(sim.texts.status_callbacks) == 2
