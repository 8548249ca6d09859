"""The pure core: keywords, Slack text safety, templates. Plain values in, plain values out."""

from __future__ import annotations

import phonenumbers
import pytest

from bot.domain import slack_text, templates
from bot.domain.keywords import classify, normalise
from bot.domain.phone import caller_number, masked, pretty, redact_numbers, to_e164
from bot.domain.segments import count_segments
from bot.domain.spreadsheet import safe_cell


@pytest.mark.parametrize(
    "body",
    [
        "STOP",
        "stop",
        " Stop. ",
        "STOPALL",
        "unsubscribe",
        "Cancel!",
        "end",
        "QUIT",
        "revoke",
        "optout",
        "OPT OUT",
        "opt   out",
        "...stop...",
    ],
)
def test_stop_family_is_an_opt_out(body: str) -> None:
    assert classify(body) == "opt_out"


@pytest.mark.parametrize("body", ["START", "unstop", "Yes"])
def test_start_family_opts_back_in(body: str) -> None:
    assert classify(body) == "opt_in"


@pytest.mark.parametrize("body", ["HELP", "info", "Help?"])
def test_help_family_asks_for_help(body: str) -> None:
    assert classify(body) == "help"


@pytest.mark.parametrize(
    "body",
    [
        "please stop texting me",
        "stop by tomorrow?",
        "yes please come at 3",
        "",
        "I need help with a leak",
    ],
)
def test_sentences_are_messages_not_keywords(body: str) -> None:
    assert classify(body) == "message"


def test_twilio_opt_out_type_wins_over_the_body() -> None:
    assert classify("arrêt", twilio_opt_out_type="STOP") == "opt_out"
    assert classify("whatever", twilio_opt_out_type="HELP") == "help"


def test_normalise_strips_edges_and_collapses_spaces() -> None:
    assert normalise("  opt \t out!! ") == "OPT OUT"


def test_caller_text_cannot_ping_or_forge_links() -> None:
    shown = slack_text.quote("<!channel> <!here> <@U123> <https://evil.example|bank> & co")
    assert "<" not in shown.replace(">", "").replace("&lt;", "")
    assert "&lt;!channel&gt;" in shown
    assert "&amp; co" in shown
    assert shown.startswith(">")


def test_long_caller_text_is_cut_for_slack() -> None:
    shown = slack_text.quote("x" * 40_000)
    assert len(shown) < 3_100
    assert shown.endswith("…(truncated)")


def test_crew_markup_becomes_plain_sms_text() -> None:
    text = "Hi <@U123>, see <https://x.example|our site> &amp; call <tel:+12025550123|us> &lt;3"
    assert (
        slack_text.to_plain(text)
        == "Hi, see our site (https://x.example) & call us (+12025550123) <3"
    )


@pytest.mark.parametrize("kind", templates.KINDS)
@pytest.mark.parametrize("link", [None, "https://jelectric.example/book"])
def test_default_templates_fit_one_gsm_segment(kind: templates.Kind, link: str | None) -> None:
    rendered = templates.render(kind, business="Johnson Electric", link=link)
    info = count_segments(rendered.text)
    assert info.encoding == "GSM-7"
    assert info.segments == 1
    assert "Johnson Electric" in rendered.text
    assert rendered.text.endswith("Reply STOP to opt out.")
    assert (link in rendered.text) if link else "{" not in rendered.text


def test_help_reply_names_business_and_opt_out() -> None:
    text = templates.help_reply("Johnson Electric")
    assert "Johnson Electric" in text and "STOP" in text


def test_numbers_normalise_to_e164() -> None:
    assert to_e164("(202) 555-0123") == "+12025550123"
    assert to_e164("202.555.0123") == "+12025550123"
    assert to_e164("+1 212 555 0199") == "+12125550199"


@pytest.mark.parametrize("raw", ["anonymous", "Unknown", "", "+15551234567", "12", "restricted"])
def test_hidden_or_invalid_caller_ids_have_no_number(raw: str) -> None:
    assert caller_number(raw) is None


@pytest.mark.parametrize(
    "e164",
    ["+12025550123", "+12125550199", "+14165550123", "+12425550123", "+18095550123"],
)
def test_north_american_numbers_read_as_phonenumbers_national_format(e164: str) -> None:
    parsed = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    assert pretty(e164) == national


def test_other_numbers_read_in_international_format() -> None:
    assert pretty("+442079460958") == "+44 20 7946 0958"


def test_logs_see_masked_numbers() -> None:
    assert masked("+12025550123") == "+12…23"
    assert "5550123" not in masked("+12025550123")


def test_numbers_in_free_text_are_masked_except_our_own() -> None:
    text = "The 'To' number +12025550123 is not valid; sent from +12125550100"
    shown = redact_numbers(text, keep={"+12125550100"})
    assert "+12025550123" not in shown and "+12…23" in shown
    assert "+12125550100" in shown
    assert redact_numbers("reply:C0LEADS:1700000000.000100") == "reply:C0LEADS:1700000000.000100"


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        (
            '=HYPERLINK("http://evil.example","click")',
            '\'=HYPERLINK("http://evil.example","click")',
        ),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("+12025550123", "+12025550123"),  # an E.164 number stays a number
        ("+1 202 555 0123", "'+1 202 555 0123"),  # only E.164 itself
        ("+12025550123=1", "'+12025550123=1"),
        ("Mozilla/5.0", "Mozilla/5.0"),
        ("", ""),
    ],
)
def test_spreadsheet_cells_that_would_run_as_formulas_are_written_as_text(
    cell: str, safe: str
) -> None:
    assert safe_cell(cell) == safe
