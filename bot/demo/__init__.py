"""`python -m bot demo`: the real product against simulated Slack and Twilio, both ends in a page.

run.py starts everything in one process and stops it on Ctrl-C: a Redis of its own (a fresh,
throwaway database), the Twilio and Slack simulators (bot/simulators, the test suite's
stand-ins), and the app from bot/app.py's create_app with its worker, pointed at them by its
settings alone (config.py). The product does not know it is in a demo. routes.py mounts the
demo's own routes (/demo: the page from bot/pages/demo.py, its state as JSON, and what a
person does on either side) on that app; only the demo command mounts them. phone.py is the
caller's phone and channel.py the crew's Slack channel: each acts through a simulator, the
way a person acts on the real service, and reads back only what that service would show.

May import: bot.demo, bot.app (the one factory), bot.settings, bot.local_redis, bot.simulators,
bot.pages and bot.domain (plain helpers: phone formatting). Nothing imports this package but
the CLI.
"""
