"""Reading other platforms' iCal feeds into nights, and our export read back by the same parser."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest

from stayflow.calendar_sync.ical import (
    ExportedStay,
    FeedFormatError,
    ParsedFeed,
    export_calendar,
    night_ranges,
    parse_feed,
)
from tests.fakes.ical_server import FIXTURES

D = dt.date
YEAR = (D(2027, 1, 1), D(2028, 1, 1))


def parse(name: str, first: dt.date = YEAR[0], last: dt.date = YEAR[1]) -> ParsedFeed:
    return parse_feed((FIXTURES / name).read_bytes(), first=first, last=last)


def test_airbnb_reservations_and_blocks_close_their_nights_not_the_checkout_day() -> None:
    feed = parse("airbnb.ics")
    assert feed.ranges == [(D(2027, 3, 1), D(2027, 3, 5)), (D(2027, 3, 10), D(2027, 3, 12))]
    assert (feed.events, feed.skipped) == (2, 0)


def test_booking_com_single_day_events_close_one_night_and_cancelled_ones_none() -> None:
    feed = parse("booking_com.ics")
    assert feed.ranges == [(D(2027, 3, 30), D(2027, 4, 2)), (D(2027, 4, 15), D(2027, 4, 16))]


def test_google_timed_events_in_their_time_zone_and_weekly_recurrences_with_exceptions() -> None:
    feed = parse("google_recurring_tz.ics")
    assert feed.ranges == [
        (D(2027, 5, 5), D(2027, 5, 8)),  # 16:00 New York on the 5th to 11:00 on the 8th: 3 nights
        (D(2027, 6, 1), D(2027, 6, 2)),  # 23:00 to 01:00: the night it starts on
        (D(2027, 7, 1), D(2027, 7, 2)),  # every Thursday, 4 times, but not on the 15th (EXDATE)
        (D(2027, 7, 8), D(2027, 7, 9)),
        (D(2027, 7, 22), D(2027, 7, 23)),
        (D(2027, 8, 10), D(2027, 8, 11)),  # 22:00 UTC is 23:00 in the calendar's X-WR-TIMEZONE (Lisbon)
    ]


def test_only_nights_inside_the_window_are_kept() -> None:
    feed = parse("airbnb.ics", first=D(2027, 3, 3), last=D(2027, 3, 11))
    assert feed.ranges == [(D(2027, 3, 3), D(2027, 3, 5)), (D(2027, 3, 10), D(2027, 3, 11))]


def test_a_broken_event_is_skipped_and_counted_the_rest_still_close_their_nights() -> None:
    feed = parse("partly_broken.ics")
    assert (D(2027, 9, 1), D(2027, 9, 3)) in feed.ranges
    assert feed.skipped == 1


@pytest.mark.parametrize("name", ["not_a_calendar.html", "truncated.ics"])
def test_what_is_not_a_calendar_is_refused_whole(name: str) -> None:
    with pytest.raises(FeedFormatError):
        parse(name)


def test_an_empty_answer_is_not_an_empty_calendar() -> None:
    with pytest.raises(FeedFormatError, match="empty"):
        parse_feed(b"  \r\n", first=YEAR[0], last=YEAR[1])


def test_export_is_a_valid_calendar_of_all_day_events_that_reads_back_to_the_same_nights() -> None:
    stays = [
        ExportedStay("booking-1@stayflow", D(2027, 3, 1), D(2027, 3, 4), "Reserved"),
        ExportedStay("block-2@stayflow", D(2027, 3, 4), D(2027, 3, 6), "Not available"),
        ExportedStay("block-3@stayflow", D(2027, 4, 1), D(2027, 4, 2), "Not available"),
    ]
    data = export_calendar(name="Stayflow: Loft", stays=stays, stamp=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    calendar = icalendar.Calendar.from_ical(data)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"] and calendar["METHOD"] == "PUBLISH"
    events = calendar.walk("VEVENT")
    assert [str(e["UID"]) for e in events] == ["booking-1@stayflow", "block-2@stayflow", "block-3@stayflow"]
    for event in events:  # all-day (VALUE=DATE) with DTSTAMP, as importers require
        assert type(event.decoded("DTSTART")) is dt.date and type(event.decoded("DTEND")) is dt.date
        assert event.get("DTSTAMP") is not None
    assert b"\r\n" in data
    back = parse_feed(data, first=YEAR[0], last=YEAR[1])
    assert back.ranges == [(D(2027, 3, 1), D(2027, 3, 6)), (D(2027, 4, 1), D(2027, 4, 2))]


def test_nights_merge_into_the_fewest_ranges() -> None:
    nights = [D(2027, 1, 3), D(2027, 1, 1), D(2027, 1, 2), D(2027, 1, 5), D(2027, 1, 2)]
    assert night_ranges(nights) == [(D(2027, 1, 1), D(2027, 1, 4)), (D(2027, 1, 5), D(2027, 1, 6))]
    assert night_ranges([]) == []
