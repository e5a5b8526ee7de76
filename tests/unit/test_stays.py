import datetime as dt

from stayflow.rules.stays import night_starts, stay_ends, stay_started


def test_a_night_starts_at_check_in_time_on_its_date() -> None:
    assert night_starts(dt.date(2027, 3, 1)) == dt.datetime(2027, 3, 1, 15, tzinfo=dt.UTC)


def test_a_stay_ends_at_check_out_time() -> None:
    assert stay_ends(dt.date(2027, 3, 4)) == dt.datetime(2027, 3, 4, 11, tzinfo=dt.UTC)


def test_the_stay_has_started_from_the_first_check_in_on() -> None:
    check_in = dt.date(2027, 3, 1)
    assert not stay_started(check_in, dt.datetime(2027, 3, 1, 14, 59, 59, tzinfo=dt.UTC))
    assert stay_started(check_in, dt.datetime(2027, 3, 1, 15, tzinfo=dt.UTC))
    assert stay_started(check_in, dt.datetime(2027, 3, 3, tzinfo=dt.UTC))
