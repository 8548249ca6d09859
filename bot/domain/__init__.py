"""The rules, as pure functions over plain values: no I/O, no asyncio.

What a missed call or a caller's text plans (plans.py: which jobs, from which events.py), which
text (templates.py, checked by template_guard.py, sized by segments.py), a lead's states and its
card (leads.py, cards.py), hours, closed days, pauses and reminders (hours.py, closed_days.py,
when.py, reminders.py), who is on call (oncall.py), keywords and consent (keywords.py,
consent.py), urgency, phone numbers, contact lists to exclude (contacts.py), Slack text, the
intake form's rules, stats, calling (ringing.py: how the crew's phones ring; call_backs.py: a
call back from Slack; voicemail.py), outbound webhooks (webhooks.py: signatures, the retry
schedule, the body), the leads export's rows (lead_export.py), and the jobs themselves (jobs.py:
typed payloads the outbox carries out).
What the crew and the owner read when something fails: given_up.py (a job out of retries),
slack_wiring.py (Slack refusing for the business's wiring). spreadsheet.py (cells safe to open),
client_address.py (who is asking, behind a trusted proxy).

May import: bot.domain and the standard library (and phonenumbers and emoji, pure libraries:
tests/test_layers.py's DOMAIN_LIBRARIES says why each).
"""
