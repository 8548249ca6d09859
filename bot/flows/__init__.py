"""One module per thing that happens: read the store once, ask the domain, queue the jobs.

calls.py (a call: missed, answered, hidden), caller_texts.py (a caller's text), crew_replies.py
(the crew's reply in a thread), crew_actions.py (buttons and reactions on a card), leads.py (a
lead's bookkeeping all of these share), intake.py (the intake page's link and form),
text_status.py (a text that did not arrive), reminders.py (nobody answered), reports.py (stats,
the Monday digest, the App Home), consent_export.py, exclusions_import.py (a contact list onto
the exclusion list), call_backs.py (the crew calls a caller back from the business number),
voicemail.py (a missed caller's message into their thread), dead_jobs.py (`outbox dead`),
webhooks.py (which event happened, for the line's webhook receivers; what /textback webhook
does) and leads_export.py. Nothing here calls Slack, Twilio or a webhook receiver: the outbox's
worker does, from the jobs queued here.

May import: bot.domain, storage, and the top level's services, settings and lines.
"""
