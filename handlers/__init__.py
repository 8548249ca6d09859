"""The edges: Twilio's webhooks (twilio/), Slack's events, actions and commands (slack/), the
intake page's route (intake.py), a caller's photo for a webhook receiver (media.py) and health.
Each verifies, parses into a small typed event, hands it to one flow and answers fast (Slack
wants 3 s, Twilio gives up after 15 s).

May import: bot.flows, bot.domain, bot.pages, and the top level's services and settings. Only
bot/app.py imports handlers.
"""
