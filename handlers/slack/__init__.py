"""Slack through Bolt: events (a crew reply), actions (card buttons), reactions, the App Home,
the template form, and the /textback commands (commands/).

May import: handlers, bot.flows, bot.domain, and the top level's services and settings.
"""
