"""The template guard: each rule refuses what it must, all reasons come at once, and the text a
caller gets is never longer (nor in a costlier encoding) than the preview."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain import template_guard, templates
from bot.domain.intake import new_token
from bot.domain.segments import count_segments
from bot.domain.template_guard import check, placeholder_link, worst_case

BUSINESS = "Johnson Electric"
LINK = placeholder_link("https://textback.example.com")
GOOD = (
    "Hi {first_name}, this is {business}. Sorry we missed your call! Reply here. "
    "Reply STOP to opt out."
)
VALUES = worst_case(BUSINESS, LINK)
NY = ZoneInfo("America/New_York")


def test_the_preview_link_is_as_long_as_a_real_intake_link() -> None:
    real = "https://textback.example.com/i/" + new_token()
    assert len(LINK) == len(real)


def test_a_plain_informational_text_passes() -> None:
    verdict = check(GOOD, VALUES)
    assert verdict.ok, verdict.reasons
    assert verdict.preview is not None
    assert verdict.preview.text.startswith("Hi Christabella, this is Johnson Electric.")


@pytest.mark.parametrize("kind", templates.KINDS)
@pytest.mark.parametrize("business", [BUSINESS, "A" * 60])
@pytest.mark.parametrize("linked", [False, True])
def test_default_texts_pass_the_guard(kind: templates.Kind, business: str, linked: bool) -> None:
    text = templates.default_for(kind, linked)
    assert check(text, worst_case(business, LINK)).reasons == []


def test_business_must_be_named() -> None:
    verdict = check("Sorry we missed your call. Reply STOP to opt out.", VALUES)
    assert verdict.reasons == ["it must name the business: put in {business} or Johnson Electric"]


def test_business_named_literally_is_enough() -> None:
    assert check("johnson electric here, sorry! Reply STOP to opt out.", VALUES).ok


def test_opt_out_line_must_be_there() -> None:
    verdict = check("Hi, this is {business}. Sorry we missed you. Text STOP to end.", VALUES)
    assert len(verdict.reasons) == 1
    assert "Reply STOP to opt out" in verdict.reasons[0]


def test_opt_out_line_tolerates_case_and_line_breaks() -> None:
    assert check("{business}: sorry we missed you.\nreply stop\nto opt out", VALUES).ok


@pytest.mark.parametrize("bad", ["{name}", "{business.__class__}", "{business!r}", "{link:>40}"])
def test_unknown_placeholders_are_refused(bad: str) -> None:
    verdict = check(f"{{business}} {bad}. Reply STOP to opt out.", VALUES)
    assert any("not a placeholder I know" in reason for reason in verdict.reasons)
    assert verdict.preview is None


def test_unbalanced_braces_are_refused() -> None:
    verdict = check("{business} sorry {. Reply STOP to opt out.", VALUES)
    assert any("braces" in reason for reason in verdict.reasons)


@pytest.mark.parametrize(
    ("wording", "word"),
    [
        ("Get 20% off today", "% off"),
        ("Big SALE this week", "sale"),
        ("Ask about our discount", "discount"),
        ("Free estimates", "free"),
        ("Great deals on heaters", "deal"),
        ("For a limited time only", "limited time"),
    ],
)
def test_promotional_wording_is_refused_with_the_reason(wording: str, word: str) -> None:
    verdict = check(f"Hi, this is {{business}}. {wording}. Reply STOP to opt out.", VALUES)
    assert len(verdict.reasons) == 1
    assert f"({word})" in verdict.reasons[0]
    assert "informational" in verdict.reasons[0]


@pytest.mark.parametrize("wording", ["freedom", "dealer", "wholesaler", "officer"])
def test_promotional_words_match_whole_words_only(wording: str) -> None:
    assert check(f"{{business}} {wording}. Reply STOP to opt out.", VALUES).ok


def test_a_business_called_free_state_may_name_itself() -> None:
    values = worst_case("Free State Plumbing", LINK)
    assert check("Free State Plumbing here. Reply STOP to opt out.", values).ok
    assert check("{business} here. Reply STOP to opt out.", values).ok


def test_more_than_two_segments_is_refused() -> None:
    long = "{business}: " + "sorry we missed your call. " * 11 + "Reply STOP to opt out."
    verdict = check(long, VALUES)
    assert verdict.preview is not None
    assert verdict.preview.info.segments == 3
    assert any("3 segments" in reason for reason in verdict.reasons)


def test_two_segments_are_allowed() -> None:
    text = "{business}: " + "sorry we missed your call. " * 6 + "Reply STOP to opt out."
    verdict = check(text, VALUES)
    assert verdict.preview is not None and verdict.preview.info.segments == 2
    assert verdict.ok


def test_one_curly_quote_makes_it_ucs2_and_is_named() -> None:
    # 1 GSM-7 segment with a straight quote; with a curly one, UCS-2 at 70 a segment: 3.
    text = (
        "Hi, this is {business}. Sorry we missed your call, we’ll call you back soon. "
        "Tell us what you need or call back. Reply STOP to opt out."
    )
    straight = check(text.replace("’", "'"), VALUES)
    assert straight.ok and straight.preview is not None
    assert (straight.preview.info.encoding, straight.preview.info.segments) == ("GSM-7", 1)
    verdict = check(text, VALUES)
    assert verdict.preview is not None
    assert verdict.preview.info.encoding == "UCS-2"
    assert verdict.preview.ucs2_characters == ["’"]
    assert verdict.preview.info.segments == 3
    assert any("force UCS-2" in reason for reason in verdict.reasons)


def test_extension_characters_count_double_in_the_preview() -> None:
    text = "{business} [team]. Reply STOP to opt out."
    verdict = check(text, VALUES)
    assert verdict.preview is not None
    assert verdict.preview.info.units == verdict.preview.info.characters + 2


def test_every_reason_is_given_at_once() -> None:
    verdict = check("FREE {nope} for a limited time", VALUES)
    joined = " | ".join(verdict.reasons)
    for expected in ("not a placeholder", "name the business", "opt out", "(free)", "limited time"):
        assert expected in joined
    assert len(verdict.reasons) == 5


# --- the preview is the worst case ---------------------------------------------------------------

EVERYTHING = (
    "Good {time_of_day} {first_name}! {business} missed you{or_link}. Or {link}. "
    "Reply STOP to opt out."
)
NAMES = [
    None,
    "",
    "Al",
    "Christabella",
    "Christabellas",
    "BARTHOLOMEW SMITH",
    "Zoë Quinn",
    "WIRELESS CALLER",
    "😀 Emoji",
    "x" * 200,
]


@pytest.mark.parametrize("caller_name", NAMES)
@pytest.mark.parametrize("hour", [0, 8, 12, 16, 17, 23])
@pytest.mark.parametrize("link", [None, "https://jelectric.example/book", LINK])
def test_rendered_text_never_exceeds_the_preview(
    caller_name: str | None, hour: int, link: str | None
) -> None:
    preview = template_guard.preview(EVERYTHING, worst_case(BUSINESS, link or LINK))
    rendered = templates.render(
        "business",
        business=BUSINESS,
        link=link,
        template=EVERYTHING,
        caller_name=caller_name,
        local=datetime(2026, 11, 23, hour, 30, tzinfo=NY),
    ).text
    real = count_segments(rendered)
    assert real.characters <= preview.info.characters
    assert real.units <= preview.info.units
    assert real.segments <= preview.info.segments
    assert real.encoding == preview.info.encoding == "GSM-7"


def test_first_name_falls_back_to_there() -> None:
    assert templates.first_name(None) == "there"
    assert templates.first_name("WIRELESS CALLER") == "Wireless"
    assert templates.first_name("Zoë") == "there"  # ë would make the text UCS-2
    assert templates.first_name("Christabellas") == "there"  # longer than the preview's name
    assert templates.first_name("maria lopez") == "Maria"


@pytest.mark.parametrize(
    ("hour", "said"), [(7, "this morning"), (12, "this afternoon"), (19, "this evening")]
)
def test_time_of_day(hour: int, said: str) -> None:
    assert templates.time_of_day(datetime(2026, 11, 23, hour, tzinfo=NY)) == said
