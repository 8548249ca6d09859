"""Loopback simulators of the Slack Web API and the Twilio REST API.

The test suite uses them as stand-ins for the real services, and the demo runs the product
against them. They model what the real services do, from their documentation, not what our code
expects. They import nothing from the rest of the product: only the standard library, aiohttp,
and the official twilio and slack_sdk packages.

Slack: slack.py (the Web API: token, scopes, faults, rate limits), slack_workspace.py (users,
channels, messages and the methods on them), slack_people.py, slack_events.py and
slack_delivery.py (what people do and how Slack delivers it to the app). Twilio: twilio.py
(account, Messages, faults, webhook signing), twilio_messages.py, twilio_voice.py,
twilio_numbers.py, twilio_media.py.
"""

from bot.simulators.slack import SlackCall, SlackStandIn
from bot.simulators.slack_workspace import SlackUpload
from bot.simulators.twilio import TwilioStandIn, point_twilio_client
from bot.simulators.twilio_voice import Caller, Voicemail

SlackSimulator = SlackStandIn
TwilioSimulator = TwilioStandIn

__all__ = [
    "Caller",
    "SlackCall",
    "SlackSimulator",
    "SlackStandIn",
    "SlackUpload",
    "TwilioSimulator",
    "TwilioStandIn",
    "Voicemail",
    "point_twilio_client",
]
