"""Redis, in the domain's verbs: one module per concern, each with its Lua scripts beside the
methods that run them, and every key name in keys.py.

calls.py (a missed call's one atomic decision), callers.py (a caller's texts, opt-out,
exclusion, place in a lead), threads.py (a lead's Slack thread and the order of its posts),
markers.py (idempotency of jobs), pacing.py (Slack pace shared by every worker), leads.py (lead
state and reminders), stats.py, ledger.py (consent history), intake.py, line_config.py
(settings changed from Slack, who may change them), outbox.py (the durable job queues, the
dead list), holds.py (jobs held while Slack's wiring is broken), health.py (last error, Slack
event dedupe), crew.py (the crew's own phones), call_backs.py (a call back's record and hold),
voicemail.py (a voicemail's places in its thread), webhooks.py (each webhook URL's state,
failed deliveries, events waiting for a card, Slack names cached), connection.py (the client:
one server or a cluster).

May import: storage and bot.domain (the plain types the store reads and writes).
"""
