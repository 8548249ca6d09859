"""The outbox's worker and each kind of work it carries out against Twilio and Slack.

worker.py reads jobs from the Redis streams (storage/outbox.py), runs them through perform.py
(payload type -> the module below), retries what may succeed later (errors.py) and takes over
the jobs of dead workers. texts.py sends a text at most once; posts.py posts in a caller's
thread in order, at least once, notices and ephemerals; cards.py keeps a lead card up to date;
media.py carries a caller's photo into the thread, voicemail.py their voicemail; calls.py places
a crew member's call back, at most once; lookups.py asks Twilio Lookup a caller's line type;
pacing.py and slack_api.py keep every worker within Slack's limits together; webhooks.py renders
an event and delivers it to each webhook URL (signed, retried on its own queue).
holds.py: jobs Slack refuses for the business's wiring wait, checked every minute, and the
owner is told; traces.py: what a job leaves where the crew looks when the worker gives up on it.

May import: bot.domain, storage, bot.flows (what a finished job leads to: a lead texted, a card
to update, a reminder due), and the top level's services and settings. Never handlers.
"""
