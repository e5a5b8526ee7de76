"""When a stay starts and ends, on the listing's local clock: DST transitions and far zones."""

import datetime as dt

import pytest

from stayflow.rules.stays import UTC_CLOCK, StayClock, clock_time, zone


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


def test_a_night_starts_at_check_in_time_on_its_date() -> None:
    assert UTC_CLOCK.night_starts(dt.date(2027, 3, 1)) == utc(2027, 3, 1, 15)


def test_a_stay_ends_at_check_out_time() -> None:
    assert UTC_CLOCK.stay_ends(dt.date(2027, 3, 4)) == utc(2027, 3, 4, 11)


def test_the_stay_has_started_from_the_first_check_in_on() -> None:
    check_in = dt.date(2027, 3, 1)
    assert not UTC_CLOCK.stay_started(check_in, utc(2027, 3, 1, 14, 59, 59))
    assert UTC_CLOCK.stay_started(check_in, utc(2027, 3, 1, 15))
    assert UTC_CLOCK.stay_started(check_in, utc(2027, 3, 3))


def test_a_tokyo_check_in_is_nine_hours_before_the_utc_one() -> None:
    tokyo = StayClock("Asia/Tokyo")
    assert tokyo.night_starts(dt.date(2027, 3, 1)) == utc(2027, 3, 1, 6)
    assert tokyo.local(tokyo.night_starts(dt.date(2027, 3, 1))).isoformat() == "2027-03-01T15:00:00+09:00"


@pytest.mark.parametrize(
    ("night", "expected"),
    [
        (dt.date(2027, 3, 13), utc(2027, 3, 13, 20)),  # EST, the day before clocks spring forward
        (dt.date(2027, 3, 14), utc(2027, 3, 14, 19)),  # EDT from 02:00 that night
        (dt.date(2027, 11, 6), utc(2027, 11, 6, 19)),  # EDT
        (dt.date(2027, 11, 7), utc(2027, 11, 7, 20)),  # EST again from 02:00
    ],
)
def test_new_york_check_in_across_daylight_saving(night: dt.date, expected: dt.datetime) -> None:
    assert StayClock("America/New_York").night_starts(night) == expected


def test_the_24_hours_before_check_in_across_spring_forward_are_23_wall_hours() -> None:
    """The flexible policy's '24 h before check-in' is 24 real hours, whatever the wall clock does."""
    clock = StayClock("America/New_York")
    check_in = clock.night_starts(dt.date(2027, 3, 14))
    deadline = clock.local(check_in - dt.timedelta(hours=24))
    assert deadline.isoformat() == "2027-03-13T14:00:00-05:00"


def test_berlin_stay_ends_at_local_check_out_across_the_october_change() -> None:
    berlin = StayClock("Europe/Berlin", check_out_time="10:00")
    assert berlin.stay_ends(dt.date(2027, 10, 30)) == utc(2027, 10, 30, 8)  # CEST, +02:00
    assert berlin.stay_ends(dt.date(2027, 10, 31)) == utc(2027, 10, 31, 9)  # CET, +01:00
    assert berlin.night_starts(dt.date(2027, 3, 28)) == utc(2027, 3, 28, 13)  # CEST from that morning


def test_a_check_in_time_in_the_spring_forward_gap_falls_after_the_gap() -> None:
    clock = StayClock("Europe/Berlin", check_in_time="02:30")
    starts = clock.night_starts(dt.date(2027, 3, 28))  # 02:00 → 03:00 that night
    assert starts == utc(2027, 3, 28, 1, 30)
    assert clock.local(starts).isoformat() == "2027-03-28T03:30:00+02:00"


def test_a_check_out_time_the_autumn_repeats_is_its_first_occurrence() -> None:
    clock = StayClock("America/New_York", check_out_time="01:30")
    assert clock.stay_ends(dt.date(2027, 11, 7)) == utc(2027, 11, 7, 5, 30)  # 01:30 EDT, not EST


def test_far_zones_a_day_apart_on_the_same_date() -> None:
    """Kiritimati (UTC+14) and Pago Pago (UTC-11): the same local 15:00 is 25 hours apart."""
    night = dt.date(2027, 1, 1)
    east = StayClock("Pacific/Kiritimati").night_starts(night)
    west = StayClock("Pacific/Pago_Pago").night_starts(night)
    assert east == utc(2027, 1, 1, 1)
    assert west == utc(2027, 1, 2, 2)
    assert west - east == dt.timedelta(hours=25)


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd", "/usr/share/zoneinfo/UTC", " UTC"])
def test_a_name_that_is_not_an_iana_zone_is_refused(name: str) -> None:
    with pytest.raises(ValueError):
        zone(name)


@pytest.mark.parametrize("text", ["24:00", "7:00", "15:60", "15h00", "1500", "ab:cd"])
def test_times_are_hh_mm(text: str) -> None:
    with pytest.raises(ValueError):
        clock_time(text)
    assert clock_time("00:00") == dt.time(0) and clock_time("23:59") == dt.time(23, 59)
