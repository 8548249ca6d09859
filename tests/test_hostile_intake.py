"""The intake page (/i/<token>) under hostile input: odd tokens, odd fields, odd bodies. A page
with a clear message, never a 500; a form with what a lead needs still reaches the thread."""

from __future__ import annotations

import io
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import Harness
from tests.hostile import FORM, odd_values
from tests.test_intake import UA, intake_cards, intake_path, open_form

FIELD_NAMES = ("name", "need", "address", "best_time", "consent", "nonce", "csrf")


@given(token=st.text(max_size=80) | st.sampled_from(["..", "%2e%2e", "a" * 5000, "é" * 20]))
async def test_any_token_gets_a_page_never_a_500(harness: Harness, token: str) -> None:
    path = "/i/" + quote(token, safe="")
    shown = await harness.client.get(path)
    posted = await harness.client.post(path, data={"need": "x"})
    # 404: no such link (with the "reply by text" page); 405/400 from aiohttp for odd paths.
    assert shown.status in (404, 400), shown.status
    assert posted.status in (404, 400, 405), posted.status


@pytest.mark.settings(INTAKE_MAX_SUBMISSIONS=100, INTAKE_MAX_PER_ADDRESS=1000)
@given(
    fields=st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=10), odd_values),
    need=st.text(min_size=1, max_size=300).filter(str.strip),
)
async def test_a_form_with_odd_fields_still_posts_what_the_caller_needs(
    harness: Harness, fields: dict[str, str], need: str
) -> None:
    if not hasattr(harness, "intake"):
        harness.intake = await intake_path(harness)  # type: ignore[attr-defined]
    path: str = harness.intake  # type: ignore[attr-defined]
    form = await open_form(harness, path)
    before = len(intake_cards(harness))
    data = {**{k: v for k, v in fields.items() if k not in ("nonce", "csrf")}, **form}
    data["need"] = need
    response = await harness.client.post(
        path,
        data=io.BytesIO(urlencode(data).encode()),
        headers={"User-Agent": UA, "Content-Type": FORM},
    )
    page = await response.text()
    assert response.status in (200, 400, 429), page
    if response.status == 400:
        # A field of theirs (the page says which), or a form of more than 20 fields.
        assert 'class="error"' in page or "couldn&#x27;t read that form" in page
        return
    if response.status == 429:
        assert "Already received" in page  # past INTAKE_MAX_SUBMISSIONS (a long profile)
        return
    await harness.drained()
    assert len(intake_cards(harness)) == before + 1


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"need=\xff\xfe", FORM),
        (b"need=%ff%fe", FORM),
        (b"&&&===&", FORM),
        (urlencode([("need", "x")] * 50).encode(), FORM),
        (b'{"need": "x"}', "application/json"),
        (
            b"--b\r\nContent-Disposition: form-data; name=need\r\n\r\nx\r\n--b--",
            "multipart/form-data; boundary=b",
        ),
    ],
    ids=[
        "invalid utf-8",
        "percent-encoded invalid utf-8",
        "empty pairs",
        "50 fields",
        "json",
        "multipart",
    ],
)
async def test_unreadable_form_gets_a_page_saying_so(
    harness: Harness, body: bytes, content_type: str
) -> None:
    path = await intake_path(harness)
    response = await harness.client.post(
        path, data=io.BytesIO(body), headers={"Content-Type": content_type}
    )
    assert response.status == 400
    assert "<html" in (await response.text()).lower()
    await harness.drained()
    assert intake_cards(harness) == []
