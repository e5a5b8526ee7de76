"""iCalendar (RFC 5545) in and out: a listing's booked and blocked nights as all-day events, and
another platform's feed read back into the nights it closes.

A night is the date a stay starts on: an event from 2027-01-01 to 2027-01-04 (all-day, end
exclusive as RFC 5545 says) closes the nights of the 1st, 2nd and 3rd. A timed event closes every
night from its start date to its end date, in the event's own time zone, and at least the night it
starts on (a check-out day stays open).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import icalendar
import recurring_ical_events

PRODID = "-//Stayflow//Calendar export 1.0//EN"


class FeedFormatError(ValueError):
    """The bytes are not an iCalendar file we can read."""


@dataclass(frozen=True)
class ExportedStay:
    """One closed range of a listing for its export: a booking or a host's block."""

    uid: str
    start: dt.date
    end: dt.date
    """Exclusive: the check-out day."""
    summary: str


@dataclass(frozen=True)
class ParsedFeed:
    ranges: list[tuple[dt.date, dt.date]]
    """Closed nights as merged [start, end) ranges, within the window asked for."""
    events: int
    """Events (occurrences of recurring ones counted once each) that close at least one night."""
    skipped: int
    """Events that could not be read (no start, an end before the start, a bad date)."""


def export_calendar(*, name: str, stays: Iterable[ExportedStay], stamp: dt.datetime) -> bytes:
    """The feed the big platforms' importers read: VERSION 2.0, a PRODID, METHOD:PUBLISH, and per
    range one all-day VEVENT with a stable UID (so importers update instead of duplicating)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for stay in stays:
        event = icalendar.Event()
        event.add("uid", stay.uid)
        event.add("dtstamp", stamp.astimezone(dt.UTC))
        event.add("dtstart", stay.start)
        event.add("dtend", stay.end)
        event.add("summary", stay.summary)
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical()


def parse_feed(data: bytes, *, first: dt.date, last: dt.date) -> ParsedFeed:
    """The nights in [first, last) the feed closes; recurring events expanded, cancelled ones ignored.

    Raises `FeedFormatError` for something that is not an iCalendar file at all; single events that
    cannot be read are skipped and counted, so one broken event does not reopen every other night.
    """
    calendar = _calendar_of(data)
    # An event without a start cannot be placed (and would stop the expansion): skip and count it.
    startless = [c for c in calendar.subcomponents if c.name == "VEVENT" and c.get("dtstart") is None]
    calendar.subcomponents = [c for c in calendar.subcomponents if not any(c is s for s in startless)]
    skipped = len(startless)
    nights: set[dt.date] = set()
    events = 0
    try:
        occurrences = recurring_ical_events.of(calendar, skip_bad_series=True).between(first, last)
    except Exception as exc:  # the library raises its own types for unreadable series and dates
        raise FeedFormatError(f"the calendar's events cannot be read: {exc}") from exc
    for occurrence in occurrences:
        if str(occurrence.get("status", "")).upper() == "CANCELLED":
            continue
        span = _nights_of(occurrence)
        if span is None:
            skipped += 1
            continue
        start, end = max(span[0], first), min(span[1], last)
        if start < end:
            events += 1
            nights.update(start + dt.timedelta(days=i) for i in range((end - start).days))
    return ParsedFeed(ranges=night_ranges(nights), events=events, skipped=skipped)


def night_ranges(nights: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Nights merged into the fewest [start, end) ranges, in order."""
    ordered = sorted(set(nights))
    ranges: list[tuple[dt.date, dt.date]] = []
    for _, run in itertools.groupby(enumerate(ordered), key=lambda pair: pair[1] - dt.timedelta(days=pair[0])):
        days = [night for _, night in run]
        ranges.append((days[0], days[-1] + dt.timedelta(days=1)))
    return ranges


def _calendar_of(data: bytes) -> icalendar.Calendar:
    if not data.strip():
        raise FeedFormatError("the feed is empty")
    if b"BEGIN:VCALENDAR" not in data[:4096].upper():
        raise FeedFormatError("not an iCalendar file (no BEGIN:VCALENDAR)")
    try:
        calendars = icalendar.Calendar.from_ical(data, multiple=True)
    except Exception as exc:  # icalendar raises ValueError and friends for broken content lines
        raise FeedFormatError(f"not a readable iCalendar file: {exc}") from exc
    if not calendars:
        raise FeedFormatError("not an iCalendar file (no VCALENDAR)")
    return calendars[0]


def _nights_of(event: Any) -> tuple[dt.date, dt.date] | None:
    try:
        start = event.decoded("dtstart")
        end = event.decoded("dtend") if event.get("dtend") is not None else None
    except Exception:  # a date the library cannot decode
        return None
    if end is None and event.get("duration") is not None:
        end = start + event.decoded("duration")
    start_day = _day(start)
    if end is None:
        return start_day, start_day + dt.timedelta(days=1)
    end_day = _day(end)
    if end_day < start_day:
        return None
    # A timed event ending at midnight, or ending later the same day, still closes its first night.
    return start_day, max(end_day, start_day + dt.timedelta(days=1))


def _day(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value
