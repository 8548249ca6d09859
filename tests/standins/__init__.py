"""The loopback stand-ins for Slack and Twilio: the simulators in bot/simulators, re-exported.

Tests reach Slack and Twilio only through the official clients pointed at these.
"""

from bot.simulators import SlackCall, SlackStandIn, SlackUpload, TwilioStandIn
from bot.simulators.twilio import DEFAULT_AUTH_TOKEN

__all__ = ["DEFAULT_AUTH_TOKEN", "SlackCall", "SlackStandIn", "SlackUpload", "TwilioStandIn"]
