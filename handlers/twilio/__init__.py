"""Twilio's webhooks: calls (voice.py) and texts (sms.py), each request's signature verified
(verify.py) before anything is stored.

May import: handlers, bot.flows, bot.domain, and the top level's services and settings.
"""
