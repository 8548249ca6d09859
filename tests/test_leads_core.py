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
    assert ids == ["lead_book", "lead_close", "lead_call_back", "lead_exclude"]
    assert cards.fallback_text(claimed) == "Missed call\n:raising_hand: Claimed by <@U1>"
    assert leads.mention(claimed) == "<@U1>" and leads.mention(TEXTED) == "<!here>"


def test_a_call_back_that_connected_shows_who_called_and_a_later_text_reopens_it() -> None:
    called = leads.called_back(TEXTED, "U2")
    assert called is not None and (called.state, called.called_by) == ("called_back", "U2")
    assert cards.state_label(called) == ":telephone_receiver: Called back by <@U2>"
    assert leads.called_back(called, "U2") is None  # the same call told twice changes nothing
    claimed = leads.apply(TEXTED, "claim", "U1")
    assert claimed is not None
    kept = leads.called_back(claimed, "U1")
    assert kept is not None and kept.state == "claimed"  # a claim is not undone by calling
    replied = leads.caller_replied(called)
    assert replied is not None and replied.state == "replied"  # waiting on the crew again


def test_a_landline_card_asks_for_a_call_with_the_button_first() -> None:
    landline = leads.cannot_text(TEXTED)
    assert landline is not None and landline.landline
    assert leads.cannot_text(landline) is None
    blocks = cards.blocks(landline)
    assert blocks[1]["elements"][0]["text"] == ":phone: Landline: can't get texts. Call them back"
    ids = [b["action_id"] for b in blocks[2]["elements"]]
    assert ids == ["lead_call_back", "lead_claim", "lead_book", "lead_close", "lead_exclude"]
    # Once the crew answered, the card says so.
    called = leads.called_back(landline, "U2")
    assert called is not None and "Called back by <@U2>" in cards.state_label(called)


def test_a_lead_that_never_gets_called_back_or_a_landline_writes_neither_field() -> None:
    assert "called_by" not in TEXTED.changes() and "landline" not in TEXTED.changes()
    changed = leads.cannot_text(TEXTED)
    assert changed is not None and changed.changes()["landline"] == "1"
