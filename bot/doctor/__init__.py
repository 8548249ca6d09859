"""`python -m bot doctor` and `python -m bot setup twilio`: the settings checked against the live
services, and the Twilio numbers pointed at this deployment.

One module per service, each with its pure parts (parsing scopes, comparing URLs, deciding
✓ / ✗ / !) as plain functions beside the few calls that fetch what they judge: slack.py,
twilio.py (and twilio_setup.py, which changes numbers), redis.py, public_url.py, lines.py (texts,
crew phones, unlisted numbers). report.py is a finding and how it prints; checks.py runs the
checks side by side, each under its own timeout, and shows progress; command.py is what the CLI
runs; wiring.py is the Slack and Twilio part, cached in Redis, for `/textback status`.

May import: bot.doctor, bot.domain, storage, and the top level's services, settings, lines and
clients. Never handlers (handlers/slack/commands/status.py imports wiring.py, not the reverse).
"""
