"""Loopback stand-ins for the Slack Web API and the Twilio REST API.

Tests reach Slack and Twilio only through the official clients pointed at these.
"""

from tests.standins.slack import SlackCall, SlackStandIn, SlackUpload
from tests.standins.twilio import TwilioStandIn

__all__ = ["SlackCall", "SlackStandIn", "SlackUpload", "TwilioStandIn"]
