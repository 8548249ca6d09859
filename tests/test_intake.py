"""The intake page linked from the auto-text: one lead per link, a structured card in the
caller's thread, explicit consent only when ticked, and no lost or doubled submissions."""

from __future__ import annotations

import asyncio
import html
import re
from typing import Any

import pytest

from bot.domain import intake, templates
from bot.domain.consent import disclosure
from bot.domain.segments import count_segments
from tests.conftest import CALLER, PUBLIC_URL, Harness, cards, thread

OTHER = "+12125550142"

DISCLOSURE = disclosure("Johnson Electric")
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148"


async def intake_path(harness: Harness) -> str:
    """The link the caller got in the auto-text, as a path on our server."""
    await harness.missed_call()
    await harness.drained()
    (sent,) = harness.twilio.messages_to(CALLER)
    found = re.search(r"https://\S+/i/[\w-]+", sent["Body"])
    assert found is not None, sent["Body"]
    link = found.group(0)
    assert link.startswith(PUBLIC_URL + "/i/")
    return link.removeprefix(PUBLIC_URL)


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found is not None, f"no {name} field"
    return html.unescape(found.group(1))


async def open_form(harness: Harness, path: str) -> dict[str, str]:
    response = await harness.client.get(path)
    assert response.status == 200
    page = await response.text()
    return {"nonce": hidden(page, "nonce"), "csrf": hidden(page, "csrf")}


async def submit(harness: Harness, path: str, form: dict[str, str], **fields: str) -> Any:
    data = {**form, **fields}
    return await harness.client.post(path, data=data, headers={"User-Agent": UA})


def intake_cards(harness: Harness) -> list[str]:
    (card,) = cards(harness)
    return [text for text in thread(harness, card["ts"]) if "Intake form" in text]


# --- the link in the text --------------------------------------------------------------------


async def test_auto_text_links_a_fresh_intake_page_per_lead(harness: Harness) -> None:
    path = await intake_path(harness)
    token = path.removeprefix("/i/")
    assert len(token) >= 12
    link = await harness.services.redis.hgetall(harness.services.keys.intake(token))
    assert link["phone"] == CALLER
    assert link["lead_id"]


@pytest.mark.settings(INTAKE_URL="https://johnson.example.test/book")
async def test_no_intake_page_link_when_intake_url_is_set(harness: Harness) -> None:
    await harness.missed_call()
    await harness.drained()
    (sent,) = harness.twilio.messages_to(CALLER)
    assert "/i/" not in sent["Body"]
    assert "https://johnson.example.test/book" in sent["Body"]


@pytest.mark.parametrize("kind", templates.KINDS)
@pytest.mark.parametrize(
    "public_url", ["https://textback.example.com", "https://tb.johnsonelectric.com"]
)
def test_auto_text_with_the_intake_link_fits_one_gsm7_segment(kind: str, public_url: str) -> None:
    link = f"{public_url}/i/{intake.new_token()}"
    text = templates.render(kind, business="Johnson Electric", link=link).text  # type: ignore[arg-type]
    info = count_segments(text)
    assert (info.encoding, info.segments) == ("GSM-7", 1), (len(text), text)
    assert link in text
    assert text.startswith(("Johnson Electric", "Hi again from Johnson Electric"))
    assert text.endswith("Reply STOP to opt out.")


# --- the page --------------------------------------------------------------------------------


async def test_page_is_branded_accessible_and_consent_is_unticked(harness: Harness) -> None:
    path = await intake_path(harness)
    response = await harness.client.get(path)
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert "<title>Tell us what you need · Johnson Electric</title>" in page
    assert '<html lang="en">' in page
    assert 'name="viewport"' in page
    for name in ("need", "name", "address", "best_time", "consent"):
        assert f'<label for="{name}"' in page or f'for="{name}"' in page
        assert f'id="{name}"' in page
    assert re.search(r'<textarea id="need" name="need"[^>]* required', page)
    checkbox = re.search(r'<input type="checkbox"[^>]*>', page)
    assert checkbox is not None and "checked" not in checkbox.group(0)
    assert html.escape(DISCLOSURE) in page
    # No external assets and no script: fast and works without JavaScript.
    assert "<script" not in page
    assert not re.search(r'(src|href)="https?://', page)
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("token", ["nope", "AAAAAAAAAAAA", "bad'%3Cscript%3E"])
async def test_wrong_token_gets_a_friendly_page_that_says_reply_by_text(
    harness: Harness, token: str
) -> None:
    response = await harness.client.get(f"/i/{token}")
    assert response.status == 404
    page = await response.text()
    assert "just reply to our text message" in page
    assert "Johnson Electric" in page


async def test_link_expires_after_intake_link_days(harness: Harness) -> None:
    path = await intake_path(harness)
    form = await open_form(harness, path)
    harness.clock.advance(7 * 86_400 + 60)
    assert (await harness.client.get(path)).status == 404
    response = await submit(harness, path, form, need="panel upgrade")
    assert response.status == 404
    assert "just reply to our text message" in await response.text()
    await harness.drained()
    assert intake_cards(harness) == []


# --- submitting ------------------------------------------------------------------------------


async def test_submission_posts_a_card_and_records_explicit_consent(harness: Harness) -> None:
    path = await intake_path(harness)
    form = await open_form(harness, path)
    response = await submit(
        harness,
        path,
        form,
        name="Dana Smith",
        need="200 amp panel upgrade\nrental on Garrity Blvd",
        address="12 Garrity Blvd",
        best_time="after 4pm",
        consent="yes",
    )
    assert response.status == 200
    assert "Thanks, we got it" in await response.text()
    await harness.drained()
    (card,) = intake_cards(harness)
    assert "*Name:* Dana Smith" in card
    assert ">200 amp panel upgrade\n>rental on Garrity Blvd" in card
    assert "*Address / area:* 12 Garrity Blvd" in card
    assert "*Best time:* after 4pm" in card
    assert "*Consent to texts:* yes" in card
    entries = await harness.services.ledger.history(CALLER)
    (explicit,) = [e for e in entries if e.event == "explicit_consent"]
    assert explicit.detail["disclosure"] == DISCLOSURE
    assert explicit.detail["ip"] == "127.0.0.1"
    assert explicit.detail["user_agent"] == UA


async def test_submission_without_consent_delivers_but_records_no_consent(
    harness: Harness,
) -> None:
    path = await intake_path(harness)
    form = await open_form(harness, path)
    response = await submit(harness, path, form, need="outlet sparks")
    assert response.status == 200
    await harness.drained()
    (card,) = intake_cards(harness)
    assert "*Consent to texts:* no" in card
    assert "*Name:* _(not given)_" in card
    entries = await harness.services.ledger.history(CALLER)
    assert "explicit_consent" not in [e.event for e in entries]


async def test_double_submit_of_one_form_posts_once(harness: Harness) -> None:
    path = await intake_path(harness)
    form = await open_form(harness, path)
    first, second = await asyncio.gather(  # a double tap: both in flight at once
        submit(harness, path, form, need="panel", consent="yes"),
        submit(harness, path, form, need="panel", consent="yes"),
    )
    third = await submit(harness, path, form, need="panel", consent="yes")  # back, resend
    assert (first.status, second.status, third.status) == (200, 200, 200)
    assert "Thanks" in await third.text()
    await harness.drained()
    assert len(intake_cards(harness)) == 1
    entries = await harness.services.ledger.history(CALLER)
    assert [e.event for e in entries].count("explicit_consent") == 1


@pytest.mark.settings(INTAKE_MAX_SUBMISSIONS=2)
async def test_submissions_per_link_are_limited(harness: Harness) -> None:
    path = await intake_path(harness)
    statuses = []
    for attempt in range(3):
        form = await open_form(harness, path)
        statuses.append((await submit(harness, path, form, need=f"try {attempt}")).status)
    assert statuses == [200, 200, 429]
    await harness.drained()
    assert len(intake_cards(harness)) == 2


async def test_forged_or_missing_csrf_field_posts_nothing_and_keeps_the_input(
    harness: Harness,
) -> None:
    path = await intake_path(harness)
    form = await open_form(harness, path)
    forged = {"nonce": form["nonce"], "csrf": "0" * 64}
    response = await submit(harness, path, forged, need="my panel <b>buzzes</b>", name="Dana")
    assert response.status == 400
    page = await response.text()
    assert "That form had expired" in page
    assert "my panel &lt;b&gt;buzzes&lt;/b&gt;</textarea>" in page
    assert 'value="Dana"' in page
    # The re-shown form carries a fresh valid pair, so sending it again works.
    retry = {"nonce": hidden(page, "nonce"), "csrf": hidden(page, "csrf")}
    assert (await submit(harness, path, retry, need="my panel buzzes")).status == 200
    no_field = await harness.client.post(path, data={"need": "x"})
    assert no_field.status == 400
    await harness.drained()
    assert len(intake_cards(harness)) == 1


async def test_a_form_from_one_link_does_not_work_on_another(harness: Harness) -> None:
    path = await intake_path(harness)
    form = await open_form(harness, path)
    await harness.missed_call(caller=OTHER)
    await harness.drained()
    (sent,) = harness.twilio.messages_to(OTHER)
    other_path = "/i/" + sent["Body"].split("/i/", 1)[1].split()[0]
    assert other_path != path
    response = await submit(harness, other_path, form, need="x")
    assert response.status == 400
    assert "That form had expired" in await response.text()
    await harness.drained()
    assert all("Intake form" not in p["text"] for p in harness.slack.posts)


async def test_missing_need_and_overlong_fields_keep_the_input(harness: Harness) -> None:
    path = await intake_path(harness)
    form = await open_form(harness, path)
    response = await submit(harness, path, form, name="Dana", need="", consent="yes")
    assert response.status == 400
    page = await response.text()
    assert "Please tell us what you need." in page
    assert 'value="Dana"' in page
    assert re.search(r'<input type="checkbox"[^>]*checked', page)
    long_need = "sparks " * 400  # 2,800 characters, over the 2,000 limit
    response = await submit(harness, path, form, need=long_need)
    assert response.status == 400
    page = await response.text()
    assert "Please keep this under 2000 characters" in page
    assert long_need.strip() in page
    await harness.drained()
    assert intake_cards(harness) == []


async def test_oversized_body_is_refused_with_the_input_shown_back(harness: Harness) -> None:
    path = await intake_path(harness)
    form = await open_form(harness, path)
    huge = "x" * 20_000
    response = await submit(harness, path, form, need="panel", address=huge)
    assert response.status == 413
    page = await response.text()
    assert "more than we can take" in page
    assert huge in page
    await harness.drained()
    assert intake_cards(harness) == []


async def test_malformed_form_gets_a_clear_message(harness: Harness) -> None:
    path = await intake_path(harness)
    response = await harness.client.post(
        path, data=b"need=%ff%fe", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status == 400
    assert "couldn&#x27;t read that form" in await response.text()
    response = await harness.client.post(
        path, data=b'{"need": "x"}', headers={"Content-Type": "application/json"}
    )
    assert response.status == 400


async def test_caller_text_is_escaped_for_slack_and_html(harness: Harness) -> None:
    path = await intake_path(harness)
    form = await open_form(harness, path)
    response = await submit(
        harness,
        path,
        form,
        name="<!channel> Eve",
        need="<https://evil.example|your bank> & more",
        address='"><script>alert(1)</script>',
    )
    assert response.status == 200
    await harness.drained()
    (card,) = intake_cards(harness)
    assert "<!channel>" not in card
    assert "&lt;!channel&gt; Eve" in card
    assert "&lt;https://evil.example|your bank&gt; &amp; more" in card
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card
    bad = await submit(harness, path, await open_form(harness, path), need="", name="<script>x")
    assert "<script>x" not in await bad.text()


async def test_form_consent_never_lifts_an_opt_out(harness: Harness) -> None:
    path = await intake_path(harness)
    await harness.caller_text("STOP")
    await harness.drained()
    form = await open_form(harness, path)
    assert (await submit(harness, path, form, need="panel", consent="yes")).status == 200
    await harness.drained()
    assert await harness.services.callers.is_opted_out(CALLER, "default")
    harness.clock.advance(2 * 86_400)
    await harness.missed_call()
    await harness.drained()
    assert len(harness.twilio.messages_to(CALLER)) == 1  # still only the first auto-text
