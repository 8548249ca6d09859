"""Loopback simulators of the Slack Web API and the Twilio REST API.

The test suite uses them as stand-ins for the real services, and the demo runs the product
against them. They model what the real services do, from their documentation, not what our code
expects. They import nothing from the rest of the product: only the standard library, aiohttp,
and the official twilio and slack_sdk packages.
"""

from bot.simulators.slack import SlackCall, SlackStandIn, SlackUpload
from bot.simulators.twilio import TwilioStandIn

__all__ = ["SlackCall", "SlackStandIn", "SlackUpload", "TwilioStandIn"]
