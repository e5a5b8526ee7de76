"""When a stay begins and ends, as instants: the one statement of "the stay has started".

A night starts at the listing's check-in time, local to its time zone, on its date; the stay
ends at its check-out time on the check-out date. The instants are UTC, correct across daylight
saving: a local time that a spring-forward gap skips (02:30 on the night clocks jump) falls the
same length of time after the gap as before it would have (03:30 local); a local time that the
autumn repeats is its first occurrence.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_CHECK_IN = "15:00"
DEFAULT_CHECK_OUT = "11:00"


@cache
def zone(name: str) -> ZoneInfo:
    """The IANA zone `name` (ValueError for a name that is not one)."""
    if not name or name != name.strip() or name.startswith("/") or ".." in name:
        raise ValueError(f"{name!r} is not an IANA time zone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone") from exc


def clock_time(text: str) -> dt.time:
    """A host's `HH:MM` (24-hour clock); ValueError otherwise."""
    if len(text) != 5 or text[2] != ":" or not (text[:2] + text[3:]).isdigit():
        raise ValueError(f"{text!r} is not a time as HH:MM")
    hours, minutes = int(text[:2]), int(text[3:])
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text!r} is not a time as HH:MM")
    return dt.time(hours, minutes)


@dataclass(frozen=True)
class StayClock:
    """A listing's local clock: its time zone and its check-in and check-out times."""

    time_zone: str = "UTC"
    check_in_time: str = DEFAULT_CHECK_IN
    check_out_time: str = DEFAULT_CHECK_OUT

    def at(self, day: dt.date, local: str) -> dt.datetime:
        """The UTC instant of local time `local` (HH:MM) on `day`."""
        wall = dt.datetime.combine(day, clock_time(local), tzinfo=zone(self.time_zone))
        # Round-tripping through UTC moves a wall time inside a spring-forward gap past the gap.
        return wall.astimezone(dt.UTC)

    def night_starts(self, night: dt.date) -> dt.datetime:
        """The instant a night begins (check-in time on its date)."""
        return self.at(night, self.check_in_time)

    def stay_ends(self, check_out: dt.date) -> dt.datetime:
        """The instant a stay is over (check-out time on the check-out date)."""
        return self.at(check_out, self.check_out_time)

    def stay_started(self, check_in: dt.date, now: dt.datetime) -> bool:
        return now >= self.night_starts(check_in)

    def local(self, instant: dt.datetime) -> dt.datetime:
        """An instant on the listing's wall clock (with its UTC offset)."""
        return instant.astimezone(zone(self.time_zone))


UTC_CLOCK = StayClock()
"""Bookings made before listings had a local clock: 15:00 and 11:00 UTC."""
