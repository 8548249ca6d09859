"""The demo's page: demo.html (markup and style) and demo.js (a small script that polls
/demo/state and renders both sides), shipped in the package beside this module.

The script renders the product's Block Kit itself (section, context, actions, header, divider,
image) and Slack's mrkdwn, with text set through the DOM, never as HTML.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def html() -> str:
    return files("bot.pages").joinpath("demo.html").read_text(encoding="utf-8")


@cache
def script() -> str:
    return files("bot.pages").joinpath("demo.js").read_text(encoding="utf-8")
