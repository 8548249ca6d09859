"""`/textback webhook [enable|retry|test]`: the webhook receivers, and what to do about them.

`webhook` shows each URL (numbered; hosts and a hint of the path only: a hook URL is its
receiver's only secret) with its state, last success, failures and last error. `enable` turns
a URL a 410 disabled back on (admins), `retry` sends the deliveries given up on again, `test`
sends a webhook.test event (Make learns a scenario's fields from the first event).

A URL's state is the URL's, whichever lines send to it; its number is the same in every
channel (the 410 notice names it). In a line's channel the command shows and acts on that
line's URLs; elsewhere on every line's, each with the lines that use it.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain import webhooks
from bot.domain.line import Line
from bot.domain.slack_text import escape
from bot.domain.webhooks import Endpoint
from bot.domain.when import describe
from bot.flows import webhooks as webhook_flows
from handlers.slack.commands.admin import refusal
from handlers.slack.commands.invocation import Invocation

USAGE = (
    "Usage: `/textback webhook` (each URL's state), `/textback webhook enable <number or URL>`, "
    "`/textback webhook retry [<number or URL>]`, `/textback webhook test [<number or URL>]`."
)
NONE = (
    "No webhooks are set up. Set `WEBHOOK_URLS` (and `WEBHOOK_SECRET`, from "
    "`python -m bot webhook secret`) to send each lead's events to Zapier, Make or a CRM."
)
NONE_HERE = (
    "This line sends its events to no webhook (its `webhook_urls` in LINES_FILE is empty). "
    "`/textback webhook` outside the lines' channels lists every line's."
)


def _when(zone: ZoneInfo, at: float | None) -> str:
    if at is None:
        return "never"
    return describe(datetime.fromtimestamp(at, zone))


def describe_endpoint(
    zone: ZoneInfo, number: int, endpoint: Endpoint, used_by: list[Line] | None = None
) -> str:
    """One URL's line in the list; used_by: the lines that send to it, when the list covers
    several lines."""
    state = {
        "active": "active",
        "failing": f"failing ({endpoint.failing} attempts since the last success)",
        "disabled": f"*disabled* by a 410 Gone {_when(zone, endpoint.disabled_at)}",
    }[endpoint.state]
    error = "none"
    if endpoint.last_error:
        # The receiver's own words: shown as text, never as Slack markup.
        error = f"{escape(endpoint.last_error[:120])} ({_when(zone, endpoint.last_error_at)})"
    lines = ""
    if used_by:
        lines = " (lines: " + ", ".join(f"`{line.id}`" for line in used_by) + ")"
    return (
        f"{number}. `{escape(webhooks.shown_url(endpoint.url))}`{lines} — {state}\n"
        f"    last success: {_when(zone, endpoint.last_success_at)} · "
        f"delivered: {endpoint.delivered} · failed events kept: {endpoint.failed} · "
        f"last error: {error}"
    )


def _chosen(configured: list[str], shown: list[str], text: str) -> list[str] | str:
    """The URLs a number or a URL names among those shown (all of them for an empty text), or
    why none. Numbers are each URL's place among every line's (configured)."""
    if not text:
        return shown
    if text.isdigit() and 1 <= int(text) <= len(configured):
        wanted = configured[int(text) - 1]
    else:
        wanted = text.strip("<>").split("|", 1)[0]  # Slack wraps a pasted URL in <...>
    if wanted in shown:
        return [wanted]
    numbers = ", ".join(str(configured.index(url) + 1) for url in shown)
    return f"`{escape(text[:60])}` is not one of the webhooks here ({numbers})."


async def webhook(invocation: Invocation) -> str:
    services = invocation.services
    line = invocation.line
    configured = services.lines.webhook_endpoints()
    # In a line's channel, that line's URLs; elsewhere (several lines, none named), every one.
    shown = [url for url in configured if line is None or url in line.webhook_urls]
    zone = (line or services.lines.all[0]).timezone
    verb, _, rest = invocation.text.partition(" ")
    verb, rest = verb.lower(), rest.strip()
    if not shown:
        return NONE if not configured else NONE_HERE
    if verb in ("", "status", "show") and not rest:
        found = await webhook_flows.endpoints(services, shown)
        several = line is None and services.lines.several
        lines = [f"*Webhooks* ({len(found)}):"]
        lines += [
            describe_endpoint(
                zone,
                configured.index(e.url) + 1,
                e,
                services.lines.using_webhook(e.url) if several else None,
            )
            for e in found
        ]
        return "\n".join(lines)
    if verb not in ("enable", "retry", "test"):
        return USAGE
    if verb == "enable" and not rest:
        return f"Which one? {USAGE}"
    urls = _chosen(configured, shown, rest)
    if isinstance(urls, str):
        return f"{urls}\n{USAGE}"
    if verb == "enable":
        denied = refusal(services, invocation.role)
        if denied:
            return denied
        name = escape(webhooks.shown_url(urls[0]))
        if not await webhook_flows.enable(services, urls[0]):
            return f"`{name}` was not disabled: its events are being sent."
        failed = (await services.webhooks.endpoint(urls[0])).failed
        more = f" {failed} events it missed are kept: `/textback webhook retry`." if failed else ""
        return f"`{name}` is on again: new events go to it.{more}"
    for url in urls:
        number = configured.index(url) + 1
        if await services.webhooks.is_disabled(url):
            return (
                f"Webhook {number} is disabled (it answered 410 Gone): "
                f"`/textback webhook enable {number}` first, then {verb}."
            )
    if verb == "retry":
        count = await webhook_flows.retry_failed(services, urls)
        if not count:
            return "No failed events to send again."
        return f"Sending {count} failed events again (each from its first attempt)."
    count = await webhook_flows.send_test(services, urls, invocation.user_id, line)
    return f"Sent a `webhook.test` event to {count} webhook{'s' if count > 1 else ''}."
