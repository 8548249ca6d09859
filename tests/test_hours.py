from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.hours import BusinessHours, HoursError

NY = ZoneInfo("America/New_York")
OFFICE = BusinessHours.parse("Mon-Fri 08:00-17:00; Sat 09:00-12:00")
WEEKDAYS = BusinessHours.parse("Mon-Fri 08:00-17:00")
EXAMPLE = '"Mon-Fri 08:00-17:00; Sat 09:00-12:00"'

# 2024-06-03 is a Monday. US clocks sprang forward on 2024-03-10 and fell back on 2024-11-03.
MON, TUE, WED, THU, FRI, SAT, SUN = (3, 4, 5, 6, 7, 8, 9)


def june(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2024, 6, day, hour, minute, second, tzinfo=NY)


def open_weekdays(hours: BusinessHours, hour: int) -> list[int]:
    """June days (Mon..Sun of one week) on which `hours` is open at `hour`:00."""
    return [day for day in range(MON, SUN + 1) if hours.is_open(june(day, hour))]


# --- parsing -------------------------------------------------------------------------------------


def test_weekday_range_and_single_day_parse_to_minutes() -> None:
    weekday = ((8 * 60, 17 * 60),)
    assert OFFICE.days == (weekday,) * 5 + (((9 * 60, 12 * 60),), ())


def test_day_names_are_case_insensitive_and_may_be_spelled_out() -> None:
    assert BusinessHours.parse("MONDAY-friday 08:00-17:00") == BusinessHours.parse(
        "mon-FRI 08:00-17:00"
    )
    assert BusinessHours.parse("Thursday 08:00-09:00").days[3] == ((480, 540),)


def test_wrapping_day_range_runs_through_the_weekend() -> None:
    hours = BusinessHours.parse("Fri-Mon 10:00-14:00")
    assert open_weekdays(hours, 11) == [MON, FRI, SAT, SUN]


def test_comma_list_of_days() -> None:
    hours = BusinessHours.parse("Mon, Wed,Fri 10:00-14:00")
    assert open_weekdays(hours, 11) == [MON, WED, FRI]


def test_comma_list_may_mix_ranges_and_single_days() -> None:
    hours = BusinessHours.parse("Mon-Tue,Thu 10:00-14:00")
    assert open_weekdays(hours, 11) == [MON, TUE, THU]


@pytest.mark.parametrize("spec", ["Daily", "daily", "Every day", "every  day", "Everyday"])
def test_daily_means_all_seven_days(spec: str) -> None:
    hours = BusinessHours.parse(f"{spec} 10:00-14:00")
    assert open_weekdays(hours, 11) == list(range(MON, SUN + 1))


def test_weekdays_and_weekends_shorthands() -> None:
    assert BusinessHours.parse("Weekdays 08:00-17:00") == BusinessHours.parse("Mon-Fri 08:00-17:00")
    assert BusinessHours.parse("weekends 08:00-17:00") == BusinessHours.parse("Sat-Sun 08:00-17:00")


@pytest.mark.parametrize(
    ("loose", "strict"),
    [
        ("Mon 8:00-17:00", "Mon 08:00-17:00"),
        ("Mon 8am-5pm", "Mon 08:00-17:00"),
        ("Mon 8 AM - 5 PM", "Mon 08:00-17:00"),
        ("Mon 8:30am-5:30pm", "Mon 08:30-17:30"),
        ("Mon 12pm-12:30pm", "Mon 12:00-12:30"),
        ("Mon 9pm-12am", "Mon 21:00-24:00"),
        ("Mon 12:15am-1am", "Mon 00:15-01:00"),
        ("Mon 8am to 5pm", "Mon 08:00-17:00"),
        ("Mon to Fri 8am-5pm", "Mon-Fri 08:00-17:00"),
        ("Mon–Fri 8am–5pm", "Mon-Fri 08:00-17:00"),
    ],
)
def test_time_spellings_mean_the_same_hours(loose: str, strict: str) -> None:
    assert BusinessHours.parse(loose) == BusinessHours.parse(strict)


@pytest.mark.parametrize("text", ["Daily 24h", "Daily 00:00-24:00", "Daily 24 hours"])
def test_24h_means_open_all_day(text: str) -> None:
    hours = BusinessHours.parse(text)
    assert hours.is_open(june(MON, 0, 0))
    assert hours.is_open(june(SUN, 23, 59, 59))


@pytest.mark.parametrize("text", ["", "   ", "closed", "Closed", ";"])
def test_empty_or_closed_is_never_open(text: str) -> None:
    hours = BusinessHours.parse(text)
    assert hours == BusinessHours()
    assert not hours.is_open(june(MON, 12))
    assert hours.next_open(june(MON, 12)) is None


def test_several_ranges_in_one_day() -> None:
    hours = BusinessHours.parse("Mon 08:00-12:00, 13:00-17:00")
    assert hours.is_open(june(MON, 11, 59))
    assert not hours.is_open(june(MON, 12, 30))
    assert hours.is_open(june(MON, 13))


def test_clauses_for_the_same_day_add_up() -> None:
    hours = BusinessHours.parse("Mon-Fri 08:00-12:00; Mon 13:00-17:00")
    assert hours.is_open(june(MON, 14))
    assert not hours.is_open(june(TUE, 14))


def test_touching_and_overlapping_ranges_merge() -> None:
    assert BusinessHours.parse("Mon 08:00-12:00, 12:00-15:00, 14:00-17:00").days[0] == (
        (480, 1020),
    )


def test_trailing_semicolon_is_ignored() -> None:
    assert BusinessHours.parse("Mon-Fri 08:00-17:00;") == BusinessHours.parse("Mon-Fri 08:00-17:00")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Mon-Fry 08:00-17:00", '"Fry" is not a day'),
        ("Funday 08:00-17:00", '"Funday" is not a day'),
        ("Mon- 08:00-17:00", "day name is missing"),
        ("Mon 8-5", '"8" needs minutes or am/pm'),
        ("Mon 25:00-26:00", '"25:00" is not a time'),
        ("Mon 08:60-17:00", '"08:60" is not a time'),
        ("Mon 13pm-2pm", '"13pm" is not a time'),
        ("Mon 0am-5am", '"0am" is not a time'),
        ("Mon 24:30-01:00", '"24:30" is not a time'),
        ("Mon 24:00-01:00", "starts at 24:00"),
        ("Mon 09:00-09:00", "opens and closes at the same time"),
        ("Mon 9am-9:00", "opens and closes at the same time"),
        ("Mon 9am", '"9am" is not a time range'),
        ("Mon 9am-", '"9am-" is not a time range'),
        ("Mon", 'no opening times in "Mon"'),
        ("Mon-Fri 08:00-17:00; Sat", 'no opening times in "Sat"'),
        ("08:00-17:00", 'no days before "08:00-17:00"'),
        ("Mon 08:00-17:00 Tue 09:00-10:00", "is not a time"),
    ],
)
def test_unreadable_hours_say_what_is_wrong_and_show_the_form(text: str, problem: str) -> None:
    with pytest.raises(HoursError) as caught:
        BusinessHours.parse(text)
    message = str(caught.value)
    assert message.startswith(f'could not read "{text}": ')
    assert problem in message
    assert message.endswith(f"Expected e.g. {EXAMPLE}")


def test_hours_error_is_a_value_error() -> None:
    # Settings validation and callers catching ValueError rely on this.
    with pytest.raises(ValueError, match="is not a day"):
        BusinessHours.parse("Someday 08:00-17:00")


def test_business_hours_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        OFFICE.days = ()  # type: ignore[misc]


# --- is_open -------------------------------------------------------------------------------------


def test_open_from_the_opening_minute() -> None:
    assert not OFFICE.is_open(june(MON, 7, 59, 59))
    assert OFFICE.is_open(june(MON, 8, 0))


def test_after_closing_time_is_closed() -> None:
    assert OFFICE.is_open(june(MON, 16, 59, 59))
    assert not OFFICE.is_open(june(MON, 17, 0))
    assert not OFFICE.is_open(june(MON, 22, 0))


def test_saturday_has_its_own_hours() -> None:
    assert OFFICE.is_open(june(SAT, 11, 30))
    assert not OFFICE.is_open(june(SAT, 12, 30))
    assert not OFFICE.is_open(june(SAT, 8, 30))


def test_closed_on_an_unlisted_day() -> None:
    assert not OFFICE.is_open(june(SUN, 10))


def test_overnight_range_open_after_midnight() -> None:
    hours = BusinessHours.parse("Fri 18:00-02:00")
    assert not hours.is_open(june(FRI, 17, 59))
    assert hours.is_open(june(FRI, 23, 59))
    assert hours.is_open(june(SAT, 0, 0))
    assert hours.is_open(june(SAT, 1, 59))
    assert not hours.is_open(june(SAT, 2, 0))
    # Saturday night has no range of its own, so early Sunday is closed.
    assert not hours.is_open(june(SUN, 1, 0))
    # Early Friday morning belongs to Thursday night, which is not listed.
    assert not hours.is_open(june(FRI, 1, 0))


def test_overnight_sunday_range_wraps_into_monday() -> None:
    hours = BusinessHours.parse("Sun 22:00-03:00")
    assert hours.is_open(june(MON, 2, 59))
    assert not hours.is_open(june(MON, 3, 0))


def test_range_ending_at_midnight_closes_at_midnight() -> None:
    hours = BusinessHours.parse("Fri 18:00-00:00")
    assert hours == BusinessHours.parse("Fri 18:00-24:00")
    assert hours.is_open(june(FRI, 23, 59, 59))
    assert not hours.is_open(june(SAT, 0, 0))


def test_is_open_reads_the_wall_clock_whatever_the_offset() -> None:
    # 08:30 is open in winter (UTC-5) and summer (UTC-4) alike: hours follow the office clock.
    assert OFFICE.is_open(datetime(2024, 1, 8, 8, 30, tzinfo=NY))
    assert OFFICE.is_open(datetime(2024, 7, 8, 8, 30, tzinfo=NY))
    assert not OFFICE.is_open(datetime(2024, 1, 8, 7, 30, tzinfo=NY))


# --- next_open -----------------------------------------------------------------------------------


def test_next_open_is_now_when_already_open() -> None:
    now = june(TUE, 10, 15, 30)
    assert OFFICE.next_open(now) is now


def test_next_open_in_overnight_tail_is_now() -> None:
    now = june(SAT, 1, 0)
    assert BusinessHours.parse("Fri 18:00-02:00").next_open(now) is now


def test_next_open_later_the_same_morning() -> None:
    assert OFFICE.next_open(june(MON, 6, 45, 12)) == june(MON, 8)


def test_next_open_after_closing_is_tomorrow_morning() -> None:
    assert OFFICE.next_open(june(TUE, 17, 0)) == june(WED, 8)


def test_next_open_skips_weekend() -> None:
    assert OFFICE.next_open(june(SAT, 12, 0)) == datetime(2024, 6, 10, 8, tzinfo=NY)


def test_next_open_uses_the_second_range_of_the_day() -> None:
    hours = BusinessHours.parse("Mon 08:00-12:00, 13:00-17:00")
    assert hours.next_open(june(MON, 12, 15)) == june(MON, 13)


def test_next_open_can_be_a_week_away() -> None:
    hours = BusinessHours.parse("Mon 08:00-09:00")
    assert hours.next_open(june(MON, 9, 0)) == datetime(2024, 6, 10, 8, tzinfo=NY)


def test_next_open_keeps_the_time_zone() -> None:
    result = OFFICE.next_open(june(SUN, 12))
    assert result is not None
    assert result.tzinfo is NY
    assert result.utcoffset() == timedelta(hours=-4)


def test_next_open_needs_an_aware_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        OFFICE.next_open(datetime(2024, 6, 3, 6, 0))


def test_dst_spring_forward_next_open_has_summer_offset() -> None:
    # Closed Friday evening in EST; Monday's opening is 08:00 EDT, i.e. 12:00 UTC not 13:00.
    result = WEEKDAYS.next_open(datetime(2024, 3, 8, 18, tzinfo=NY))
    assert result is not None
    assert (result.hour, result.minute, result.day) == (8, 0, 11)
    assert result.astimezone(UTC) == datetime(2024, 3, 11, 12, tzinfo=UTC)


def test_dst_fall_back_next_open_has_winter_offset() -> None:
    result = WEEKDAYS.next_open(datetime(2024, 11, 1, 18, tzinfo=NY))
    assert result is not None
    assert result.astimezone(UTC) == datetime(2024, 11, 4, 13, tzinfo=UTC)


def test_dst_spring_forward_opening_in_skipped_hour_opens_when_clocks_jump() -> None:
    # 02:30 never happens on 2024-03-10; the clocks jump from 02:00 EST to 03:00 EDT, mid-range.
    hours = BusinessHours.parse("Sun 02:30-05:00")
    result = hours.next_open(datetime(2024, 3, 10, 1, 0, tzinfo=NY))
    assert result is not None
    assert result.astimezone(UTC) == datetime(2024, 3, 10, 7, 0, tzinfo=UTC)
    assert (result.hour, result.minute) == (3, 0)
    assert hours.is_open(result)


def test_dst_spring_forward_range_inside_skipped_hour_waits_a_week() -> None:
    hours = BusinessHours.parse("Sun 02:00-02:45")
    result = hours.next_open(datetime(2024, 3, 10, 1, 0, tzinfo=NY))
    assert result is not None
    assert result.astimezone(UTC) == datetime(2024, 3, 17, 6, 0, tzinfo=UTC)


def test_dst_fall_back_repeated_hour_opens_again() -> None:
    # 01:00-01:30 happens twice on 2024-11-03; at 01:45 EDT the second pass is still ahead.
    hours = BusinessHours.parse("Sun 01:00-01:30")
    local = datetime(2024, 11, 3, 1, 45, tzinfo=NY)
    result = hours.next_open(local)
    assert result is not None
    assert result.astimezone(UTC) == datetime(2024, 11, 3, 6, 0, tzinfo=UTC)
    assert result.utcoffset() == timedelta(hours=-5)


def test_dst_fall_back_clocks_going_back_into_a_range_reopen() -> None:
    # Closed at 01:50 EDT, but at 02:00 EDT the clock reads 01:00 EST, inside 00:30-01:30 again.
    hours = BusinessHours.parse("Sun 00:30-01:30")
    result = hours.next_open(datetime(2024, 11, 3, 1, 50, tzinfo=NY))
    assert result is not None
    assert result.astimezone(UTC) == datetime(2024, 11, 3, 6, 0, tzinfo=UTC)
    assert hours.is_open(result)


@pytest.mark.parametrize(
    "text",
    ["Mon-Fri 08:00-17:00; Sat 09:00-12:00", "Sun 01:00-03:00", "Fri-Sat 22:00-02:30", "Tue 24h"],
)
@pytest.mark.parametrize(
    "start", [datetime(2024, 3, 7, tzinfo=UTC), datetime(2024, 10, 31, tzinfo=UTC)]
)
def test_next_open_is_the_first_open_moment_around_dst(text: str, start: datetime) -> None:
    # Walk real time through a DST change; each answer must be open, not before the question,
    # and (unless it is the question itself) closed one second earlier.
    hours = BusinessHours.parse(text)
    for step in range(0, 8 * 24 * 60, 37):
        local = (start + timedelta(minutes=step)).astimezone(NY)
        result = hours.next_open(local)
        assert result is not None
        assert hours.is_open(result)
        assert result.astimezone(UTC) >= local.astimezone(UTC)
        if result is not local:
            just_before = (result.astimezone(UTC) - timedelta(seconds=1)).astimezone(NY)
            assert not hours.is_open(just_before)


# --- describe ------------------------------------------------------------------------------------


def test_describe_groups_consecutive_days() -> None:
    assert BusinessHours.parse("mon 8am-5pm; tue-fri 8:00-17:00; saturday 9am-12pm").describe() == (
        "Mon-Fri 08:00-17:00; Sat 09:00-12:00"
    )


def test_describe_lists_separate_days_with_commas() -> None:
    hours = BusinessHours.parse("Mon 9am-5pm; Wed 9am-5pm; Fri 9am-5pm; Tue 10am-2pm")
    assert hours.describe() == "Mon,Wed,Fri 09:00-17:00; Tue 10:00-14:00"


def test_describe_keeps_a_run_through_the_weekend_together() -> None:
    assert BusinessHours.parse("Sat-Mon 10:00-14:00").describe() == "Sat-Mon 10:00-14:00"


def test_describe_every_day_is_daily() -> None:
    assert BusinessHours.parse("Mon-Sun 8am-8pm").describe() == "Daily 08:00-20:00"


def test_describe_overnight_and_all_day() -> None:
    hours = BusinessHours.parse("Fri 6pm-2am; Sat 00:00-24:00; Sun 18:00-00:00")
    assert hours.describe() == "Fri 18:00-02:00; Sat 24h; Sun 18:00-24:00"


def test_describe_closed() -> None:
    assert BusinessHours.parse("").describe() == "closed"


@pytest.mark.parametrize(
    "text",
    [
        "Mon-Fri 08:00-17:00; Sat 09:00-12:00",
        "mon,wed,fri 8:30am-5:30pm",
        "Fri-Mon 10am-2pm",
        "Daily 24h",
        "Mon 08:00-12:00, 13:00-17:00; Tue-Thu 08:00-17:00",
        "Fri 18:00-02:00; Sat 18:00-03:00",
        "Mon 24h, 20:00-04:00",
        "Sun 22:00-00:00",
        "closed",
        "Weekdays 7am-7pm; Weekends 10am-4pm",
    ],
)
def test_parse_of_describe_round_trips(text: str) -> None:
    hours = BusinessHours.parse(text)
    described = hours.describe()
    assert BusinessHours.parse(described) == hours
    assert BusinessHours.parse(described).describe() == described
