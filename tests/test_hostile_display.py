"""Caller-controlled text (SMS bodies, caller names, intake fields) is shown harmlessly in Slack:
no pings, channel links or forged links, no forged lines of ours, and within Slack's limits, cut
with a visible marker rather than lost. Asserted on what the Slack stand-in received."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import cards, slack_text
from bot.domain.leads import LeadState
from tests.conftest import CALLER, CHANNEL, Harness
from tests.lead_helpers import blocks_of
from tests.load.numbers import valid_callers
from tests.test_intake import intake_cards, intake_path, open_form, submit
from tests.waiting import wait_until

TRICKS = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123>",
    "<#C123>",
    "<#C123|general>",
    "<!subteam^S123|@crew>",
    "<https://evil.example|bank>",
    "<tel:+12025550199|call me>",
    "&lt;!channel&gt;",  # already escaped by hand: must not turn into a ping either
    "*bold* _it_ ~strike~ `code` ```block```",
    "<\u200b!channel>",
    "\u202e>lennahc!<",  # right-to-left override
    "line one\n:white_check_mark: Booked by <@U0BOSS>",
    "\u2028:warning: fake notice\x85and\x0bmore",
    "> fake quote end\n\n\n",
)
tricky_text = st.lists(st.sampled_from(TRICKS) | st.text(max_size=30), max_size=8).map("".join)


def _live_tokens(text: str) -> list[str]:
    """Slack markup that would ping, link or mention: anything opening with '<'."""
    return [part for part in text.split("<")[1:]]


def _caller_part(message: str) -> list[str]:
    header, _, quoted = message.partition("\n")
    assert header.startswith(":speech_balloon: *Caller"), header
    return quoted.split("\n")


@given(body=tricky_text)
async def test_caller_text_is_shown_inert_and_quoted(harness: Harness, body: str) -> None:
    posts_before = len(harness.slack.posts)
    response = await harness.caller_text(body or "x")
    assert response.status == 200
    await harness.drained()
    relayed = [p for p in harness.slack.posts[posts_before:] if "*Caller" in p["text"]]
    (post,) = relayed
    text = post["text"]
    assert _live_tokens(text) == []
    # Every line of theirs is inside the quote: nothing reads as a line of ours.
    assert all(line.startswith(">") for line in _caller_part(text))
    assert "blocks" not in post  # a plain-text post: Slack's 40,000 characters, not 3,000


@pytest.mark.parametrize("length", [3_001, 40_000, 200_000])
async def test_overlong_caller_text_is_posted_cut_with_a_marker(
    harness: Harness, length: int
) -> None:
    """Twilio caps Body at 1,600, but nothing here trusts that: the post still arrives."""
    body = ("&<" * length)[:length]  # the worst case: escaping makes it five times longer
    await harness.caller_text(body)
    await harness.drained()
    (post,) = [p for p in harness.slack.posts if "*Caller" in p["text"]]
    assert post["text"].endswith("…(truncated)")
    assert len(post["text"]) <= slack_text.MAX_MESSAGE_TEXT
    assert _live_tokens(post["text"]) == []


def _callers() -> Iterator[str]:
    yield from (n for n in valid_callers() if n != CALLER)


CALLERS = _callers()


def _section(harness: Harness, ts: str) -> str:
    (section,) = [b for b in blocks_of(harness, ts) if b["type"] == "section"]
    return str(section["text"]["text"])


async def _card_for(harness: Harness, caller: str) -> tuple[str, dict[str, Any]]:
    def find() -> tuple[str, dict[str, Any]] | None:
        for (channel, ts), message in harness.slack.messages.items():
            top = channel == CHANNEL and not message.get("thread_ts")
            if top and f"<tel:{caller}|" in str(message.get("text")):
                return ts, message
        return None

    return await wait_until(find, timeout=10, message="no lead card")


@given(name=tricky_text | st.text(max_size=100))
async def test_caller_name_cannot_ping_forge_a_line_or_break_the_card(
    harness: Harness, name: str
) -> None:
    caller = next(CALLERS)
    response = await harness.missed_call(caller=caller, CallerName=name)
    assert response.status == 200
    ts, message = await _card_for(harness, caller)
    section = _section(harness, ts)
    first, when = section.split("\n")  # the name never adds a line
    assert first.startswith(f":telephone_receiver: *Missed call* from <tel:{caller}|")
    assert _live_tokens(first.split(">", 1)[1]) == []  # after our own tel: link
    assert "\u202e" not in section and "\u200b" not in section
    assert when.count(" · ") == 1
    assert _live_tokens(message["text"].split(">", 1)[1]) == []


async def test_enormous_caller_name_is_cut_and_the_card_still_posts(harness: Harness) -> None:
    caller = next(CALLERS)
    await harness.missed_call(caller=caller, CallerName="JOHN <!channel> " * 3000)
    ts, _ = await _card_for(harness, caller)
    section = _section(harness, ts)
    assert "…(truncated))" in section
    assert len(section) < 300
    await harness.drained()  # the text goes out on its own queue, maybe after the card
    assert len(harness.twilio.messages_to(caller)) == 1  # the caller still got the text


def test_one_line_text_for_slack_is_inert_and_capped() -> None:
    shown = slack_text.inline("<!here>\n\u202eEve\u200b *x*\t" + "y" * 500, limit=40)
    assert shown.startswith("&lt;!here&gt; Eve *x* y")
    assert shown.endswith("…(truncated)")
    assert len(slack_text.inline("y" * 500, limit=40)) == 40
    assert slack_text.inline("\n\u200b\t") == ""


async def test_intake_fields_cannot_ping_or_forge_lines_on_the_intake_card(
    harness: Harness,
) -> None:
    path = await intake_path(harness)
    form = await open_form(harness, path)
    response = await submit(
        harness,
        path,
        form,
        name="Eve\n*Consent to texts:* yes <!channel>",
        need="<@U123> <#C123>\n:white_check_mark: Booked\n" + "*bold* " * 200,
        address="\u202e<https://evil.example|bank>",
        best_time="<!here>\u2028*Name:* Mallory",
    )
    assert response.status == 200
    await harness.drained()
    (card,) = intake_cards(harness)
    lines = card.split("\n")
    assert [line.split(":*")[0] for line in lines if line.startswith("*")] == [
        "*Name",
        "*Needs",
        "*Address / area",
        "*Best time",
        "*Consent to texts",
    ]
    assert lines[-1] == "*Consent to texts:* no (did not tick)"
    assert _live_tokens(card) == []
    assert "\u202e" not in card


def test_card_section_over_slacks_limit_is_cut_not_lost() -> None:
    """Slack refuses a section over 3,000 characters (invalid_blocks: the stand-in too), which
    would lose the whole card; whatever made a summary that long, the card cuts it."""
    lead = LeadState(phone=CALLER, summary="x" * 5000)
    (section, *_) = cards.blocks(lead)
    assert len(section["text"]["text"]) == slack_text.MAX_SECTION_TEXT
    assert section["text"]["text"].endswith("…(truncated)")


async def test_a_busy_day_still_shows_the_app_home_with_a_count_of_the_rest(
    harness: Harness,
) -> None:
    """60 open leads overflow one section block (3,000 characters): Slack would refuse the
    whole Home tab. It lists what fits and says how many more there are."""
    callers = [next(CALLERS) for _ in range(60)]
    for caller in callers:
        assert (await harness.missed_call(caller=caller)).status == 200
    await harness.drained(timeout=30)

    event = {"type": "app_home_opened", "user": "U0CREW", "tab": "home"}
    assert (await harness.slack_event(event)).status == 200

    view = harness.slack.home_views["U0CREW"]
    leads = view["blocks"][1]["text"]["text"]
    assert len(leads) <= slack_text.MAX_SECTION_TEXT
    shown = leads.count("<tel:")
    assert 10 < shown < 60
    assert leads.endswith(f"…and {60 - shown} more (see the channel)")


async def test_an_opt_out_like_text_padded_to_any_length_still_gets_its_button(
    harness: Harness,
) -> None:
    body = "\n" * 20 + "." * 5000 + " stop texting me"
    await harness.caller_text(body)
    await harness.drained()
    (flag,) = [p for p in harness.slack.posts if "reads like an opt-out" in p["text"]]
    assert "\n" not in flag["text"].split("(“", 1)[1].split("”)", 1)[0]
    blocks = flag["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    assert any(b["type"] == "actions" for b in blocks)
