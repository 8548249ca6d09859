"""Lead state transitions and the card they render: pure, no I/O."""

from __future__ import annotations

from bot.domain import cards, leads
from bot.domain.leads import LeadState

TEXTED = LeadState(phone="+12025550123", line="default", summary="Missed call", state="texted")


def test_caller_reply_moves_texted_to_replied_but_never_reopens_a_booking() -> None:
    replied = leads.caller_replied(TEXTED)
    assert replied is not None and replied.state == "replied"
    booked = LeadState(state="booked")
    assert leads.caller_replied(booked) is None
    flagged = leads.caller_replied(booked, urgent=True)
    assert flagged is not None and flagged.state == "booked" and flagged.urgent


def test_claim_book_close_and_their_undo() -> None:
    claimed = leads.apply(TEXTED, "claim", "U1")
    assert claimed is not None and (claimed.state, claimed.claimer) == ("claimed", "U1")
    assert leads.apply(claimed, "claim", "U1") is None  # a second click changes nothing
    booked = leads.apply(claimed, "book", "U2")
    assert booked is not None and (booked.state, booked.claimer, booked.by) == (
        "booked",
        "U1",
        "U2",
    )
    assert leads.apply(booked, "claim", "U3") is None
    back = leads.undo(booked, "book", "U2")
    assert back is not None and (back.state, back.claimer) == ("claimed", "U1")
    unclaimed = leads.undo(claimed, "claim", "U1")
    assert unclaimed is not None and (unclaimed.state, unclaimed.claimer) == ("texted", "")


def test_removing_someone_elses_claim_reaction_does_not_unclaim() -> None:
    claimed = leads.apply(TEXTED, "claim", "U1")
    assert claimed is not None
    assert leads.undo(claimed, "claim", "U2") is None
    assert leads.undo(claimed, "close", "U1") is None


def test_card_shows_state_buttons_and_escapes_nothing_it_did_not_write() -> None:
    claimed = leads.apply(TEXTED, "claim", "U1")
    assert claimed is not None
    blocks = cards.blocks(claimed)
    assert blocks[1]["elements"][0]["text"].startswith(":raising_hand: Claimed by <@U1>")
    ids = [b["action_id"] for b in blocks[2]["elements"]]
    assert ids == ["lead_book", "lead_close", "lead_exclude"]
    assert cards.fallback_text(claimed) == "Missed call\n:raising_hand: Claimed by <@U1>"
    assert leads.mention(claimed) == "<@U1>" and leads.mention(TEXTED) == "<!here>"
