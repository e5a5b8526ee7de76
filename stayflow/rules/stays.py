"""When a stay begins and ends, as instants: the one statement of "the stay has started".

A night starts at check-in time on its date and the stay ends at check-out time on the
check-out date. Today both are fixed hours in UTC; listing-local times (issue 11) change only
this module.
"""

from __future__ import annotations

import datetime as dt

CHECK_IN_TIME = dt.time(15)
CHECK_OUT_TIME = dt.time(11)


def night_starts(night: dt.date) -> dt.datetime:
    """The instant a night begins (check-in time on its date)."""
    return dt.datetime.combine(night, CHECK_IN_TIME, tzinfo=dt.UTC)


def stay_ends(check_out: dt.date) -> dt.datetime:
    """The instant a stay is over (check-out time on the check-out date)."""
    return dt.datetime.combine(check_out, CHECK_OUT_TIME, tzinfo=dt.UTC)


def stay_started(check_in: dt.date, now: dt.datetime) -> bool:
    return now >= night_starts(check_in)
