"""HTML the product serves: the intake page (intake.py), self-contained documents with no
scripts; and the demo's page (demo.py: demo.html and demo.js beside it, plain HTML and one
small script, no build step and no external assets), which only `python -m bot demo` serves.

May import: bot.domain.
"""
