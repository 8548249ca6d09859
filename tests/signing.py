"""Sign webhook requests the way Twilio and Slack do: the simulators' own signing helpers."""

from bot.simulators.signing import slack_headers, twilio_signature

__all__ = ["slack_headers", "twilio_signature"]
