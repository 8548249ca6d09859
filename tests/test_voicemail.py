"""Voicemail (VOICEMAIL): after the missed dial the caller may leave a message; the audio lands in
their thread, Twilio's transcript under it, and it counts as their reply. The text goes out as
it would without voicemail.

The Twilio simulator walks the call to the <Record>, serves the recording behind the account's
basic auth and sends the recording and transcription callbacks; the Slack simulator takes the
upload through files.getUploadURLExternal / completeUploadExternal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.domain import voicemail as rules
from bot.lines import LinesError, load
from bot.settings import Settings
from bot.simulators import Caller, Voicemail
from bot.simulators.twilio_voice import silent_wav
from tests.calling import live, settle, twiml
from tests.conftest import (
    BUSINESS_NUMBER,
    CALLER,
    CHANNEL,
    PUBLIC_URL,
    Harness,
    card_ts,
    new_sid,
)
from tests.lead_helpers import state_line, wait_state
from tests.waiting import wait_until

CREW = "+12025550188"  # the harness's FORWARD_TO
WORDS = "Hi, this is Dana. The breaker in the garage keeps tripping, call me back please."
TEXT_PROMISE = "or just hang up and we'll text you"


async def leave(harness: Harness, message: Voicemail | None) -> Any:
    """A missed call (the crew's phone rings out) where the caller leaves `message`."""
    live(harness)
    record = await harness.twilio.call_in(
        CALLER, BUSINESS_NUMBER, crew={CREW: "no-answer"}, caller=Caller(voicemail=message)
    )
    await settle(harness)
    return record


def thread_of(harness: Harness) -> list[dict[str, Any]]:
    ts = card_ts(harness)
    assert ts is not None
    return harness.slack.thread_messages(CHANNEL, ts)


async def settled_thread(harness: Harness, count: int) -> list[dict[str, Any]]:
    return await wait_until(
        lambda: len(thread_of(harness)) >= count and thread_of(harness),
        timeout=20,
        message=f"thread never reached {count} messages",
    )


# --- what the caller hears ----------------------------------------------------------------------


@pytest.mark.settings(VOICEMAIL=True)
async def test_after_the_missed_dial_the_caller_may_leave_a_message(harness: Harness) -> None:
    response = await harness.missed_call()
    root = twiml(await response.text())

    assert [verb.tag for verb in root] == ["Say", "Record"]
    assert root.findtext("Say") == (
        "Sorry we missed your call. Leave a message after the tone, "
        "or just hang up and we'll text you."
    )
    record = root[1].attrib
    assert record == {
        "maxLength": "120",
        "playBeep": "true",
        "transcribe": "true",
        "transcribeCallback": f"{PUBLIC_URL}/twilio/voice/transcription",
        "recordingStatusCallback": f"{PUBLIC_URL}/twilio/voice/recording",
        "action": f"{PUBLIC_URL}/twilio/voice/recorded",
    }
    # The text is decided and queued as without voicemail: it does not wait for the message.
    await harness.drained()
    assert len(harness.twilio.messages_to(CALLER)) == 1


@pytest.mark.settings(VOICEMAIL=True)
@pytest.mark.parametrize("no_text", ["excluded", "opted_out", "window"])
async def test_we_promise_a_text_only_when_one_is_really_going_out(
    harness: Harness, no_text: str
) -> None:
    if no_text == "excluded":
        await harness.services.callers.exclude(CALLER, "default", "supplier")
    elif no_text == "opted_out":
        await harness.services.callers.record_opt_out(CALLER, "default", harness.clock())
    else:
        await harness.missed_call()  # texted a moment ago: no second text in the window
        await harness.drained()
    response = await harness.missed_call()
    root = twiml(await response.text())

    assert root.findtext("Say") == "Sorry we missed your call. Leave a message after the tone."
    assert root.find("Record") is not None


@pytest.mark.settings(VOICEMAIL=True, FORWARD_TO="")
async def test_with_nobody_to_ring_the_beep_comes_at_once(harness: Harness) -> None:
    response = await harness.twilio_post(
        "/twilio/voice",
        {"CallSid": new_sid("CA"), "From": CALLER, "To": BUSINESS_NUMBER, "Direction": "inbound"},
    )
    root = twiml(await response.text())
    assert [verb.tag for verb in root] == ["Say", "Record"]
    assert TEXT_PROMISE in (root.findtext("Say") or "")


@pytest.mark.settings(VOICEMAIL=True)
async def test_a_hidden_caller_gets_the_usual_goodbye_with_no_thread_to_leave_it_in(
    harness: Harness,
) -> None:
    response = await harness.missed_call(caller="anonymous")
    root = twiml(await response.text())
    assert root.find("Record") is None and root.find("Hangup") is not None


async def test_without_voicemail_the_caller_hears_the_goodbye(harness: Harness) -> None:
    response = await harness.missed_call()
    root = twiml(await response.text())
    assert root.find("Record") is None
    assert "text you" in (root.findtext("Say") or "")


# --- into the thread ----------------------------------------------------------------------------


@pytest.mark.settings(VOICEMAIL=True)
async def test_the_voicemail_lands_in_the_thread_audio_first_then_the_transcript(
    harness: Harness,
) -> None:
    record = await leave(harness, Voicemail(23, WORDS))

    assert record.heard == [rules.before_the_beep("send")]
    assert len(harness.twilio.messages_to(CALLER)) == 1  # the text went out all the same
    audio, transcript = await settled_thread(harness, 2)
    assert audio["text"] == ":vhs: *Voicemail* (0:23)"
    [upload] = harness.slack.uploads
    assert upload.data == silent_wav(23)  # fetched from Twilio with the account's credentials
    assert upload.filename.endswith(".wav") and upload.thread_ts == card_ts(harness)
    assert transcript["text"] == f":memo: *Voicemail transcript*:\n>{WORDS}"
    assert len(thread_of(harness)) == 2


@pytest.mark.settings(VOICEMAIL=True)
async def test_a_voicemail_counts_as_the_callers_reply(harness: Harness) -> None:
    await leave(harness, Voicemail(23, WORDS))
    ts = card_ts(harness)
    assert ts is not None

    await wait_state(harness, ts, "Replied")
    lead_id = (await harness.services.callers.caller(CALLER, "default"))["lead_id"]
    assert await harness.services.leads.waiting_since(CALLER, lead_id) is not None  # the clock
    day = await _today(harness)
    assert day.get("replied") == 1


@pytest.mark.settings(VOICEMAIL=True)
async def test_no_transcript_leaves_the_audio_alone(harness: Harness) -> None:
    await leave(harness, Voicemail(40, WORDS, transcription_fails=True))

    [audio] = await settled_thread(harness, 1)
    assert audio["text"] == ":vhs: *Voicemail* (0:40)"
    assert len(harness.slack.uploads) == 1


@pytest.mark.settings(VOICEMAIL=True)
async def test_a_hang_up_at_the_beep_is_dropped(harness: Harness) -> None:
    record = await leave(harness, Voicemail(1, "uh"))

    assert record.recording is not None  # Twilio recorded a second of it
    assert thread_of(harness) == []
    assert harness.slack.uploads == []
    ts = card_ts(harness)
    assert ts is not None and "Texted" in state_line(harness, ts)  # not a reply


@pytest.mark.settings(VOICEMAIL=True)
async def test_an_urgent_voicemail_flags_the_card_and_pings_the_channel(
    harness: Harness,
) -> None:
    await leave(harness, Voicemail(15, "Emergency, my basement is flooding, please call"))
    ts = card_ts(harness)
    assert ts is not None

    messages = await settled_thread(harness, 3)
    assert [m["text"].split()[0] for m in messages] == [":vhs:", ":memo:", ":rotating_light:"]
    assert "<!here>" in messages[2]["text"]
    [broadcast] = [p for p in harness.slack.posts if p.get("reply_broadcast")]
    assert broadcast["text"] == messages[2]["text"]  # also shown in the channel
    await wait_state(harness, ts, "URGENT")


@pytest.mark.settings(VOICEMAIL=True)
async def test_a_transcript_is_escaped_like_any_caller_text(harness: Harness) -> None:
    await leave(harness, Voicemail(9, "call <!channel> at <https://evil.test|the bank>"))

    _, transcript = await settled_thread(harness, 2)
    assert "<!channel>" not in transcript["text"]
    assert "&lt;!channel&gt;" in transcript["text"]


@pytest.mark.settings(VOICEMAIL=True)
async def test_a_slack_outage_during_the_upload_loses_nothing_and_keeps_the_order(
    harness: Harness,
) -> None:
    harness.slack.fail("files.getUploadURLExternal", 503, times=2)
    harness.slack.fail("files.completeUploadExternal", 500, times=1)

    await leave(harness, Voicemail(23, WORDS))

    audio, transcript = await settled_thread(harness, 2)
    assert audio["text"].startswith(":vhs: *Voicemail*")
    assert transcript["text"].startswith(":memo: *Voicemail transcript*")
    failed = harness.slack.calls_to("files.getUploadURLExternal", failed=True)
    assert len(failed) == 2  # retried
    await harness.drained(timeout=20)
    assert len(thread_of(harness)) == 2


# --- callbacks in any order, more than once ------------------------------------------------------


async def _offered(harness: Harness) -> str:
    """A missed call that reached the beep; returns its CallSid."""
    call_sid = new_sid("CA")
    response = await harness.missed_call(call_sid=call_sid)
    assert twiml(await response.text()).find("Record") is not None
    await wait_until(lambda: card_ts(harness), message="no card")
    return call_sid


def _recording(harness: Harness, call_sid: str, seconds: int) -> dict[str, str]:
    sid = new_sid("RE")
    url = harness.twilio.media.add_recording(sid, silent_wav(seconds))
    return {"CallSid": call_sid, "RecordingSid": sid, "RecordingUrl": url}


@pytest.mark.settings(VOICEMAIL=True)
async def test_a_transcript_before_the_audio_still_ends_audio_first(harness: Harness) -> None:
    call_sid = await _offered(harness)
    recording = _recording(harness, call_sid, 17)
    transcription = {
        **recording,
        "TranscriptionSid": new_sid("TR"),
        "TranscriptionStatus": "completed",
        "TranscriptionText": WORDS,
    }
    status = {**recording, "RecordingStatus": "completed", "RecordingDuration": "17"}

    for path, params in [
        ("/twilio/voice/transcription", transcription),
        ("/twilio/voice/transcription", transcription),  # Twilio may repeat a callback
        ("/twilio/voice/recording", status),
        ("/twilio/voice/recording", status),
    ]:
        response = await harness.twilio_post(path, params)
        assert response.status == 204

    audio, transcript = await settled_thread(harness, 2)
    await harness.drained()
    assert audio["text"] == ":vhs: *Voicemail* (0:17)"  # read from the audio itself
    assert transcript["text"].startswith(":memo: *Voicemail transcript*")
    assert len(harness.slack.uploads) == 1 and len(thread_of(harness)) == 2


@pytest.mark.settings(VOICEMAIL=True)
async def test_a_callback_repeated_after_its_first_delivery_died_unqueued_still_posts(
    harness: Harness,
) -> None:
    call_sid = await _offered(harness)
    recording = _recording(harness, call_sid, 12)
    # The first delivery planned the audio's place, then its process died before queueing it.
    await harness.services.voicemails.recorded(CALLER, "default", recording["RecordingSid"])

    status = {**recording, "RecordingStatus": "completed", "RecordingDuration": "12"}
    for _ in range(2):  # Twilio's retry, then one more repeat: queued once
        assert (await harness.twilio_post("/twilio/voice/recording", status)).status == 204

    [audio] = await settled_thread(harness, 1)
    await harness.drained()
    assert audio["text"] == ":vhs: *Voicemail* (0:12)"
    assert len(harness.slack.uploads) == 1


@pytest.mark.settings(VOICEMAIL=True)
async def test_a_recording_for_a_call_never_offered_voicemail_is_ignored(
    harness: Harness,
) -> None:
    params = {
        **_recording(harness, new_sid("CA"), 12),
        "RecordingStatus": "completed",
        "RecordingDuration": "12",
    }
    response = await harness.twilio_post("/twilio/voice/recording", params)
    assert response.status == 204
    await harness.drained()
    assert harness.slack.uploads == [] and harness.slack.posts == []


# --- per line -----------------------------------------------------------------------------------


def _settings(tmp_path: Path, entry: str) -> Settings:
    path = tmp_path / "lines.toml"
    path.write_text(
        '[[line]]\nid = "uptown"\nnumbers = ["+12025550199"]\nname = "Acme Uptown"\n'
        f'channel = "C0UPTOWN01"\n{entry}\n'
    )
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        public_url="https://tb.example.test",
        slack_bot_token="xoxb-x",
        slack_signing_secret="s",
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="t",
        lines_file=str(path),
    )


def test_a_line_may_take_voicemail_when_the_environment_does_not(
    clean_env: None, tmp_path: Path
) -> None:
    [line], _ = load(_settings(tmp_path, "voicemail = true"))
    assert line.voicemail is True
    [line], _ = load(_settings(tmp_path, ""))
    assert line.voicemail is False  # VOICEMAIL's default


def test_a_voicemail_setting_that_is_not_true_or_false_stops_start_up(
    clean_env: None, tmp_path: Path
) -> None:
    with pytest.raises(LinesError, match="voicemail must be true or false"):
        load(_settings(tmp_path, 'voicemail = "yes"'))


def test_voicemail_lengths_read_as_a_clock() -> None:
    assert [rules.clock(s) for s in (0, 23, 60, 120)] == ["0:00", "0:23", "1:00", "2:00"]


async def _today(harness: Harness) -> dict[str, int]:
    from bot.flows.leads import business_day

    day = await business_day(harness.services, "default", harness.clock())
    [(counts, _)] = await harness.services.stats.days("default", [day])
    return counts
