"""GET/POST /i/<token>: the caller's intake page, linked from the auto-text.

Not a webhook: a person's browser. Answers are whole HTML pages; errors keep what they typed.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from aiohttp import web

from bot.domain import consent, intake
from bot.domain.client_address import client_address
from bot.domain.intake import IntakeForm, Problems
from bot.flows import intake as intake_flow
from bot.flows.intake import Visitor
from bot.pages import intake as intake_page
from bot.services import Services
from handlers.app_keys import SERVICES

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 16 * 1024  # the fields' own limits add up to ~2.5 KB; UTF-8 may triple that
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", headers=_HEADERS)


async def _link(request: web.Request, services: Services) -> intake.IntakeLink | None:
    token = request.match_info["token"]
    if not intake.plausible_token(token):
        return None
    return await intake_flow.find_link(services, token)


def _form_page(
    services: Services,
    link: intake.IntakeLink,
    form: IntakeForm | None = None,
    problems: Problems | None = None,
) -> str:
    line = services.lines.known(link.line)
    nonce = intake.new_nonce()
    csrf = intake.csrf_field(intake_flow.form_key(services), link.token, nonce)
    return intake_page.form_page(
        line.business_name, consent.disclosure(line.business_name), nonce, csrf, form, problems
    )


async def show(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    link = await _link(request, services)
    if link is None:
        return _html(intake_page.not_found_page(services.lines.any_name), 404)
    return _html(_form_page(services, link))


async def submit(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    link = await _link(request, services)
    if link is None:
        return _html(intake_page.not_found_page(services.lines.any_name), 404)
    business = services.lines.known(link.line).business_name
    if request.content_type not in ("application/x-www-form-urlencoded", ""):
        return _html(
            intake_page.bad_request_page(business, "Please send the form from the page."), 400
        )
    raw = await request.read()  # the app caps bodies at 1 MB; ours is checked below
    try:
        fields = dict(
            parse_qsl(
                raw.decode("utf-8"), keep_blank_values=True, max_num_fields=20, errors="strict"
            )
        )
    except (UnicodeDecodeError, ValueError):
        return _html(intake_page.bad_request_page(business, "We couldn't read that form."), 400)
    form = IntakeForm.from_fields(fields)
    key = intake_flow.form_key(services)
    nonce, csrf = fields.get("nonce", ""), fields.get("csrf", "")
    if not intake.csrf_ok(key, link.token, nonce, csrf):
        # A stale or forged form: show it again with a fresh token, their input kept.
        problems = Problems(general=["That form had expired. Please check it and send it again."])
        return _html(_form_page(services, link, form, problems), 400)
    if len(raw) > MAX_FORM_BYTES:
        general = [f"That was more than we can take ({len(raw) // 1024} KB). Please shorten it."]
        problems = Problems(general=general, fields=intake.validate(form).fields)
        return _html(_form_page(services, link, form, problems), 413)
    problems = intake.validate(form)
    if problems:
        return _html(_form_page(services, link, form, problems), 400)
    forwarded_for = request.headers.get("X-Forwarded-For", "")[:200]
    visitor = Visitor(
        ip=client_address(request.remote or "", forwarded_for, services.settings.trusted_proxies),
        forwarded_for=forwarded_for,
        user_agent=request.headers.get("User-Agent", ""),
    )
    outcome = await intake_flow.submit(services, link, nonce, form, visitor)
    if outcome == "limit":
        return _html(intake_page.limit_page(business), 429)
    if outcome == "busy":
        page = _html(intake_page.busy_page(business), 429)
        page.headers["Retry-After"] = "3600"
        return page
    if outcome == "missing":
        return _html(intake_page.not_found_page(business), 404)
    return _html(intake_page.thanks_page(business))  # "ok", or "dup": posted once already
