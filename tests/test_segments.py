from __future__ import annotations

import dataclasses

import pytest

from bot.domain.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    GSM_MULTIPART_SEGMENT,
    GSM_SINGLE_SEGMENT,
    UCS2_MULTIPART_SEGMENT,
    UCS2_SINGLE_SEGMENT,
    SegmentInfo,
    count_segments,
    is_gsm7,
    non_gsm_characters,
)

# The GSM 03.38 basic table as 3GPP TS 23.038 prints it, minus the escape code.
BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
CURLY = "’"  # right single quotation mark, which phones and word processors love
EMOJI = "😀"  # outside the BMP: a UTF-16 surrogate pair


def test_limits_match_the_sms_standard() -> None:
    assert (GSM_SINGLE_SEGMENT, GSM_MULTIPART_SEGMENT) == (160, 153)
    assert (UCS2_SINGLE_SEGMENT, UCS2_MULTIPART_SEGMENT) == (70, 67)


def test_empty_text_is_zero_segments() -> None:
    assert count_segments("") == SegmentInfo(encoding="GSM-7", units=0, segments=0, characters=0)


def test_plain_text_is_one_gsm7_segment() -> None:
    text = "Sorry we missed your call! Reply here and we'll get back to you."
    assert count_segments(text) == SegmentInfo("GSM-7", len(text), 1, len(text))


def test_every_basic_table_character_is_one_septet() -> None:
    assert len(BASIC_TABLE) == 127
    assert set(BASIC_TABLE) == GSM7_BASIC
    info = count_segments(BASIC_TABLE)
    assert (info.encoding, info.units, info.characters) == ("GSM-7", 127, 127)


def test_extension_character_counts_double() -> None:
    info = count_segments("Fee: 5€")
    assert (info.encoding, info.units, info.characters) == ("GSM-7", 8, 7)


@pytest.mark.parametrize("char", ["|", "^", "€", "{", "}", "[", "]", "~", "\\", "\f"])
def test_each_extension_character_is_two_septets(char: str) -> None:
    assert char in GSM7_EXTENSION
    info = count_segments(char)
    assert (info.encoding, info.units, info.characters) == ("GSM-7", 2, 1)


def test_160_gsm_chars_is_one_segment() -> None:
    assert count_segments("a" * 160).segments == 1


def test_161_gsm_chars_is_two_segments_of_153() -> None:
    info = count_segments("a" * 161)
    assert (info.units, info.segments) == (161, 2)


def test_306_gsm_chars_fill_exactly_two_parts_and_307_need_three() -> None:
    assert count_segments("a" * 306).segments == 2
    assert count_segments("a" * 307).segments == 3


def test_80_extension_characters_fit_one_segment_but_81_do_not() -> None:
    assert count_segments("{" * 80) == SegmentInfo("GSM-7", 160, 1, 80)
    # 162 septets: two parts, each holding at most 76 pairs (152 septets).
    assert count_segments("{" * 81).segments == 2


def test_escape_pair_is_not_split_across_segments() -> None:
    # 306 septets would fit two parts of 153, but the € straddles the first boundary,
    # so it moves whole into part two and pushes the last character into a third.
    text = "a" * 152 + "€" + "a" * 152
    info = count_segments(text)
    assert info.units == 306
    assert info.segments == 3


def test_curly_quote_forces_ucs2() -> None:
    info = count_segments(f"We{CURLY}ll call you back")
    assert info.encoding == "UCS-2"
    assert info.units == info.characters == 19


def test_em_dash_forces_ucs2() -> None:
    assert count_segments("Closed now — back at 8").encoding == "UCS-2"


@pytest.mark.parametrize("char", ["ç", "á", "ê", "`", "“", "…", "\t", "\u0308"])
def test_characters_outside_the_gsm_table_force_ucs2(char: str) -> None:
    assert count_segments(f"hello {char}").encoding == "UCS-2"
    assert not is_gsm7(char)


def test_emoji_counts_two_units() -> None:
    info = count_segments(f"Thanks {EMOJI}")
    assert info == SegmentInfo("UCS-2", 9, 1, 8)


def test_extension_characters_count_once_in_ucs2() -> None:
    # In UCS-2 there is no escape: € is a single code unit like everything else in the BMP.
    assert count_segments(f"€{CURLY}").units == 2


def test_70_ucs2_units_is_one_segment_and_71_is_two() -> None:
    assert count_segments(CURLY * 70).segments == 1
    assert count_segments(CURLY * 71) == SegmentInfo("UCS-2", 71, 2, 71)


def test_134_ucs2_units_fill_two_parts_and_135_need_three() -> None:
    assert count_segments(CURLY * 134).segments == 2
    assert count_segments(CURLY * 135).segments == 3


def test_35_emoji_fit_one_segment() -> None:
    assert count_segments(EMOJI * 35) == SegmentInfo("UCS-2", 70, 1, 35)


def test_surrogate_pair_is_not_split_across_segments() -> None:
    # 134 units would fit two parts of 67, but the emoji straddles the boundary.
    text = CURLY * 66 + EMOJI + CURLY * 66
    info = count_segments(text)
    assert info.units == 134
    assert info.segments == 3


def test_lone_surrogate_counts_one_unit_without_crashing() -> None:
    assert count_segments("\ud83d").units == 1


def test_non_gsm_characters_in_first_appearance_order_without_repeats() -> None:
    text = f"We{CURLY}re closed — call back {EMOJI} tomorrow{CURLY}s fine — thanks"
    assert non_gsm_characters(text) == [CURLY, "—", EMOJI]


def test_non_gsm_characters_empty_for_gsm_text_with_extension_characters() -> None:
    assert non_gsm_characters(BASIC_TABLE + "".join(GSM7_EXTENSION)) == []
    assert is_gsm7("{price} ~ [10€]")


def test_segment_info_is_immutable() -> None:
    info = count_segments("hi")
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.segments = 5  # type: ignore[misc]
