"""Preparation time and minimum notice (stayflow/rules/preparation.py): the nights kept free around
stays, and the earliest check-in on the listing's local clock (DST, UTC+14, UTC-11, Samoa's
skipped day)."""

import datetime as dt
import itertools

import pytest

from stayflow.rules.preparation import (
    MAX_NOTICE_DAYS,
    buffered_window,
    earliest_check_in,
    local_today,
    notice_may_apply,
    notice_problem,
    preparation_conflicts,
    preparation_nights,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def d(month: int, day: int, year: int = 2027) -> dt.date:
    return dt.date(year, month, day)


# -- the listing's local today ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "now", "today"),
    [
        ("UTC", utc(2027, 3, 1, 23, 59), d(3, 1)),
        # UTC+14 (Line Islands): the new day starts at 10:00 UTC the day before.
        ("Pacific/Kiritimati", utc(2027, 3, 1, 9, 59), d(3, 1)),
        ("Pacific/Kiritimati", utc(2027, 3, 1, 10, 0), d(3, 2)),
        # UTC-11 (American Samoa): the day starts at 11:00 UTC.
        ("Pacific/Pago_Pago", utc(2027, 3, 1, 10, 59), d(2, 28)),
        ("Pacific/Pago_Pago", utc(2027, 3, 1, 11, 0), d(3, 1)),
        # New York springs forward on 14 March 2027: midnight is 05:00 UTC before, 04:00 UTC after.
        ("America/New_York", utc(2027, 3, 14, 4, 59), d(3, 13)),
        ("America/New_York", utc(2027, 3, 14, 5, 0), d(3, 14)),
        ("America/New_York", utc(2027, 3, 15, 3, 59), d(3, 14)),
        ("America/New_York", utc(2027, 3, 15, 4, 0), d(3, 15)),
        # ... and falls back on 7 November: the 25-hour day is still one date.
        ("America/New_York", utc(2027, 11, 7, 4, 0), d(11, 7)),
        ("America/New_York", utc(2027, 11, 8, 4, 59), d(11, 7)),
        ("America/New_York", utc(2027, 11, 8, 5, 0), d(11, 8)),
    ],
)
def test_local_today_is_the_date_on_the_listings_wall_clock(zone: str, now: dt.datetime, today: dt.date) -> None:
    assert local_today(now, zone) == today


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        local_today(dt.datetime(2027, 3, 1, 12), "UTC")


def test_samoa_skipped_the_30th_of_december_2011() -> None:
    # Apia moved from UTC-10 to UTC+14 at the end of 29 December 2011: 10:00 UTC on the 30th is the 31st there.
    assert local_today(utc(2011, 12, 30, 9, 59), "Pacific/Apia") == dt.date(2011, 12, 29)
    assert local_today(utc(2011, 12, 30, 10, 0), "Pacific/Apia") == dt.date(2011, 12, 31)
    assert earliest_check_in(utc(2011, 12, 30, 10, 0), "Pacific/Apia", 1) == dt.date(2012, 1, 1)


# -- minimum notice -------------------------------------------------------------------------------


def test_same_day_notice_takes_todays_check_in_on_the_homes_clock() -> None:
    now = utc(2027, 3, 1, 10, 30)  # already 2 March in Kiritimati, still 28 February in Pago Pago
    assert notice_problem(d(3, 2), now=now, time_zone="Pacific/Kiritimati", min_notice_days=0) is None
    too_soon = notice_problem(d(3, 1), now=now, time_zone="Pacific/Kiritimati", min_notice_days=0)
    assert too_soon is not None and "2027-03-02" in too_soon
    assert notice_problem(d(2, 28), now=now, time_zone="Pacific/Pago_Pago", min_notice_days=0) is None


@pytest.mark.parametrize("notice", range(MAX_NOTICE_DAYS + 1))
def test_a_check_in_needs_the_days_of_notice(notice: int) -> None:
    now = utc(2027, 3, 14, 6)  # 01:00 EST: New York's today is 14 March
    earliest = d(3, 14) + dt.timedelta(days=notice)
    assert earliest_check_in(now, "America/New_York", notice) == earliest
    assert notice_problem(earliest, now=now, time_zone="America/New_York", min_notice_days=notice) is None
    refused = notice_problem(
        earliest - dt.timedelta(days=1), now=now, time_zone="America/New_York", min_notice_days=notice
    )
    assert refused is not None and earliest.isoformat() in refused
    if notice:
        assert f"{notice} day" in refused


def test_notice_counts_whole_local_days_across_a_dst_change() -> None:
    # 23:30 EDT on 6 November (03:30 UTC on the 7th): two days' notice is 8 November; half an
    # hour later it is the 7th there (a 25-hour day: clocks fall back at 02:00) and the 9th.
    now = utc(2027, 11, 7, 3, 30)
    assert earliest_check_in(now, "America/New_York", 2) == d(11, 8)
    assert earliest_check_in(now + dt.timedelta(minutes=30), "America/New_York", 2) == d(11, 9)


def test_search_leaves_the_notice_filter_out_only_where_no_listing_could_refuse() -> None:
    zones = ["Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC", "America/New_York", "Asia/Tokyo"]
    instants = [utc(2027, 3, 1, h) for h in (0, 9, 10, 11, 23)] + [utc(2027, 3, 14, 5), utc(2027, 11, 7, 5)]
    for zone, now, notice, ahead in itertools.product(zones, instants, range(MAX_NOTICE_DAYS + 1), range(12)):
        check_in = now.date() + dt.timedelta(days=ahead)
        if not notice_may_apply(check_in, now):
            assert notice_problem(check_in, now=now, time_zone=zone, min_notice_days=notice) is None
    # The latest earliest check-in: 7 days' notice at UTC+14, a day ahead of UTC.
    assert earliest_check_in(utc(2027, 3, 1, 12), "Pacific/Kiritimati", MAX_NOTICE_DAYS) == d(3, 9)
    assert notice_may_apply(d(3, 8), utc(2027, 3, 1, 12))
    assert not notice_may_apply(d(3, 9), utc(2027, 3, 1, 12))


# -- preparation time ---------------------------------------------------------------------------------

STAY = (d(5, 10), d(5, 12))  # nights of 10 and 11 May, checking out on the 12th


def test_preparation_nights_surround_each_stay() -> None:
    assert preparation_nights([STAY], 0) == set()
    assert preparation_nights([STAY], 1) == {d(5, 9), d(5, 12)}
    assert preparation_nights([STAY], 2) == {d(5, 8), d(5, 9), d(5, 12), d(5, 13)}


def test_a_stay_may_not_begin_on_the_buffer_after_another() -> None:
    assert preparation_conflicts(d(5, 12), d(5, 14), [STAY], 1) == [d(5, 12)]
    assert preparation_conflicts(d(5, 13), d(5, 15), [STAY], 1) == []
    assert preparation_conflicts(d(5, 13), d(5, 15), [STAY], 2) == [d(5, 13)]
    assert preparation_conflicts(d(5, 14), d(5, 15), [STAY], 2) == []


def test_a_stay_may_not_end_in_the_buffer_before_another() -> None:
    assert preparation_conflicts(d(5, 7), d(5, 10), [STAY], 1) == [d(5, 9)]
    assert preparation_conflicts(d(5, 7), d(5, 9), [STAY], 1) == []  # checks out on the 9th: night 9 stays free
    assert preparation_conflicts(d(5, 6), d(5, 9), [STAY], 2) == [d(5, 8)]


def test_without_preparation_time_back_to_back_stays_are_fine() -> None:
    assert preparation_conflicts(d(5, 12), d(5, 14), [STAY], 0) == []
    assert preparation_conflicts(d(5, 8), d(5, 10), [STAY], 0) == []


def test_the_buffer_between_two_stays_is_n_nights_not_twice_n() -> None:
    # With two days, a stay may check in two nights after the other checked out.
    assert preparation_conflicts(d(5, 14), d(5, 16), [STAY], 2) == []
    later = (d(5, 14), d(5, 16))
    assert preparation_nights([STAY, later], 2) >= {d(5, 12), d(5, 13)}


def test_conflicts_are_symmetric() -> None:
    for n in (1, 2):
        for start, nights in itertools.product(range(1, 20), range(1, 5)):
            stay = (d(5, start), d(5, start) + dt.timedelta(days=nights))
            if stay[0] < STAY[1] and STAY[0] < stay[1]:
                continue  # overlapping stays are the exclusion constraint's, not this rule's
            this_way = bool(preparation_conflicts(*stay, [STAY], n))
            other_way = bool(preparation_conflicts(*STAY, [stay], n))
            assert this_way == other_way, (stay, n)


def test_the_window_to_load_and_to_probe_is_the_stay_widened_by_the_buffer() -> None:
    assert buffered_window(*STAY, 0) == STAY
    assert buffered_window(*STAY, 2) == (d(5, 8), d(5, 14))
    # A stay conflicts exactly when it holds a night inside another's widened window (search's SQL).
    for n in (1, 2):
        first, last = buffered_window(*STAY, n)
        for start, nights in itertools.product(range(1, 20), range(1, 5)):
            ci, co = d(5, start), d(5, start) + dt.timedelta(days=nights)
            if ci < STAY[1] and STAY[0] < co:
                continue
            assert bool(preparation_conflicts(ci, co, [STAY], n)) == (ci < last and first < co)
