"""A caller's voicemail: fetched from Twilio with the account's credentials, uploaded into the
caller's thread (Slack's external upload: files_upload_v2), headed with its length."""

from __future__ import annotations

import io
import wave

from bot.domain import voicemail
from bot.domain.jobs import VoicemailUpload
from bot.domain.phone import pretty
from bot.outbox import media, slack_api
from bot.services import Services


def wav_seconds(audio: bytes) -> int | None:
    """A WAV recording's length (Twilio's RecordingUrl serves WAV); None if it isn't one."""
    try:
        with wave.open(io.BytesIO(audio)) as read:
            return round(read.getnframes() / read.getframerate())
    except (wave.Error, EOFError, ZeroDivisionError):
        return None


async def upload(services: Services, message: VoicemailUpload, thread_ts: str | None) -> None:
    lead = message.place.lead
    audio = await media.fetch(services, message.url)
    seconds = message.seconds if message.seconds is not None else wav_seconds(audio)
    await slack_api.call(
        services,
        lead.channel,
        "files_upload_v2",
        channel=lead.channel,
        thread_ts=thread_ts,
        content=audio,
        filename=f"voicemail-{message.recording_sid}.wav",
        title=f"Voicemail from {pretty(lead.phone)}",
        initial_comment=voicemail.heading(seconds, message.claimer),
    )
