"""The rules, as pure functions over plain values: no I/O, no asyncio.

What a missed call or a caller's text plans (plans.py: which jobs, from which events.py), which
text (templates.py, checked by template_guard.py, sized by segments.py), a lead's states and its
card (leads.py, cards.py), hours, pauses and reminders (hours.py, when.py, reminders.py),
keywords and consent (keywords.py, consent.py), urgency, phone numbers, Slack text, the intake
form's rules, stats, outbound webhooks (webhooks.py: signatures, the retry schedule, the body),
the leads export's rows (lead_export.py), and the jobs themselves (jobs.py: typed payloads the
outbox carries out).

May import: bot.domain and the standard library (and phonenumbers, a pure library).
"""
