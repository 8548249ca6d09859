"""`/textback webhook [enable|retry|test]`: the webhook receivers, and what to do about them.

`webhook` shows each URL (numbered; hosts and a hint of the path only: a hook URL is its
receiver's only secret) with its state, last success, failures and last error. `enable` turns
a URL a 410 disabled back on (admins), `retry` sends the deliveries given up on again, `test`
sends a webhook.test event (Make learns a scenario's fields from the first event).
"""

from __future__ import annotations

from datetime import datetime

from bot.domain import webhooks
from bot.domain.slack_text import escape
from bot.domain.webhooks import Endpoint
from bot.domain.when import describe
from bot.flows import webhooks as webhook_flows
from bot.services import Services
from handlers.slack.commands import Invocation, subcommand
from handlers.slack.commands.admin import refusal

USAGE = (
    "Usage: `/textback webhook` (each URL's state), `/textback webhook enable <number or URL>`, "
    "`/textback webhook retry [<number or URL>]`, `/textback webhook test [<number or URL>]`."
)
NONE = (
    "No webhooks are set up. Set `WEBHOOK_URLS` (and `WEBHOOK_SECRET`, from "
    "`python -m bot webhook secret`) to send each lead's events to Zapier, Make or a CRM."
)


def _when(services: Services, at: float | None) -> str:
    if at is None:
        return "never"
    return describe(datetime.fromtimestamp(at, services.lines.default.timezone))


def describe_endpoint(services: Services, number: int, endpoint: Endpoint) -> str:
    state = {
        "active": "active",
        "failing": f"failing ({endpoint.failing} attempts since the last success)",
        "disabled": f"*disabled* by a 410 Gone {_when(services, endpoint.disabled_at)}",
    }[endpoint.state]
    error = "none"
    if endpoint.last_error:
        # The receiver's own words: shown as text, never as Slack markup.
        error = f"{escape(endpoint.last_error[:120])} ({_when(services, endpoint.last_error_at)})"
    return (
        f"{number}. `{escape(webhooks.shown_url(endpoint.url))}` — {state}\n"
        f"    last success: {_when(services, endpoint.last_success_at)} · "
        f"delivered: {endpoint.delivered} · failed events kept: {endpoint.failed} · "
        f"last error: {error}"
    )


def _chosen(configured: list[str], text: str) -> list[str] | str:
    """The URLs a number or a URL names (all of them for an empty text), or why none."""
    if not text:
        return configured
    if text.isdigit() and 1 <= int(text) <= len(configured):
        return [configured[int(text) - 1]]
    wanted = text.strip("<>").split("|", 1)[0]  # Slack wraps a pasted URL in <...>
    if wanted in configured:
        return [wanted]
    return f"`{escape(text[:60])}` is not one of the webhooks (1 to {len(configured)})."


@subcommand(
    "webhook",
    "webhook [enable <n> | retry [<n>] | test [<n>]]",
    "where each lead's events go (Zapier, Make, a CRM), and their state",
)
async def webhook(invocation: Invocation) -> str:
    services = invocation.services
    configured = services.lines.webhook_endpoints()
    verb, _, rest = invocation.text.partition(" ")
    verb, rest = verb.lower(), rest.strip()
    if not configured:
        return NONE
    if verb in ("", "status", "show") and not rest:
        found = await webhook_flows.endpoints(services)
        lines = [f"*Webhooks* ({len(found)}):"]
        lines += [describe_endpoint(services, n, e) for n, e in enumerate(found, start=1)]
        return "\n".join(lines)
    if verb not in ("enable", "retry", "test"):
        return USAGE
    if verb == "enable" and not rest:
        return f"Which one? {USAGE}"
    urls = _chosen(configured, rest)
    if isinstance(urls, str):
        return f"{urls}\n{USAGE}"
    if verb == "enable":
        denied = await refusal(services, invocation.user_id)
        if denied:
            return denied
        shown = escape(webhooks.shown_url(urls[0]))
        if not await webhook_flows.enable(services, urls[0]):
            return f"`{shown}` was not disabled: its events are being sent."
        failed = (await services.webhooks.endpoint(urls[0])).failed
        more = f" {failed} events it missed are kept: `/textback webhook retry`." if failed else ""
        return f"`{shown}` is on again: new events go to it.{more}"
    for number, url in enumerate(configured, start=1):
        if url in urls and await services.webhooks.is_disabled(url):
            return (
                f"Webhook {number} is disabled (it answered 410 Gone): "
                f"`/textback webhook enable {number}` first, then {verb}."
            )
    if verb == "retry":
        count = await webhook_flows.retry_failed(services, urls)
        if not count:
            return "No failed events to send again."
        return f"Sending {count} failed events again (each from its first attempt)."
    count = await webhook_flows.send_test(services, urls, invocation.user_id)
    return f"Sent a `webhook.test` event to {count} webhook{'s' if count > 1 else ''}."
