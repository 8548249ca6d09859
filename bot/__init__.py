"""textback: missed-call text-back run from Slack.

The top level holds what every layer is handed: settings.py (one Settings, read once),
services.py (Redis, the stores, the Slack and Twilio clients, opened once per process),
lines.py (the lines this deployment answers for), wiring.py (is Slack's and Twilio's wiring
working: one small check each), app.py (the one factory of the web app), cli.py
(`python -m bot ...`). Below it, one folder per layer; each folder's __init__ says what
lives there and what it may import (tests/test_layers.py checks it):

    domain/   pure rules                        imports only domain (and the standard library)
    flows/    one module per thing that happens imports domain, storage, the services
    outbox/   the worker and each kind of work  imports domain, storage, flows, the services
    pages/    HTML the product serves           imports domain
    doctor/   checks against the live services  imports domain, storage, the services
              (`doctor`, `setup twilio`)
    simulators/ Slack and Twilio on loopback    imports nothing of ours
    demo/     `python -m bot demo`              imports app, settings, simulators, pages, domain

storage/ (Redis) and handlers/ (webhooks, Slack listeners) sit beside bot/. Only app.py imports
handlers; only cli.py imports demo.
"""
