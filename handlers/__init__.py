"""The edge: what answers HTTP. A handler verifies the request, parses it into a small typed
event, hands it to one flow (bot.flows) and answers; what to do is decided in bot.domain.

twilio/     the /twilio sub-app: Twilio's webhooks, all behind its signature-checking middleware
slack/      POST /slack/events into Bolt, and every Bolt listener (commands/: /textback)
intake.py   the caller's intake page, /i/<token>
health.py   /healthz (?deep=1) and /metrics
access_log.py the access log `serve` writes, intake tokens redacted
app_keys.py typed keys for what the app holds (SERVICES)

Handlers may import bot.flows, bot.domain, bot.pages, bot.doctor (the wiring lines of
/textback status) and the app's services (bot.services, bot.settings, bot.lines); storage only
for a type, its verbs are reached through the services.
Nothing below them imports handlers: the app factory, bot/app.py, is the one module outside
this package that does (tests/test_declarations.py checks).
"""
