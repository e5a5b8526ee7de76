"""Preparation time and minimum notice: the nights a host keeps free around stays, and how soon
a stay may begin. One statement of both, called by availability, quotes, booking, changes and
(as the same arithmetic in SQL, `api/listings/search.py`) search.

**Preparation time** (`preparation_days`, 0-2): that many nights before each stay's check-in
and from its check-out on stay free for cleaning. A stay may not hold one of them: with 1 day,
after a stay checking out on the 12th the next may check in on the 13th, not the 12th, and a
stay checking in on the 10th must check out by the 9th. Between two stays that is N free nights
(not 2N): the buffers of both stays are the same nights. The listing's *current* setting counts,
around every stay holding its nights (bookings; not the host's own blocks or imported feeds):
a host who changes it sees the calendar change at once; stays already booked closer than the
new setting both stand.

In range terms: a new stay `[check_in, check_out)` is free of another's buffer when its nights do
not meet `[other.check_in - N, other.check_out + N)`, which is how search's SQL probes the
bookings' exclusion-constraint index (`daterange(b.check_in, b.check_out) && daterange(ci - N, co + N)`).

**Minimum notice** (`min_notice_days`, 0-7): the earliest check-in is the listing's local today
(its IANA zone, so "today" is the host's today wherever the guest is) plus N days; 0 allows a
same-day check-in. Whole days, no cut-off hour.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from stayflow.rules.stays import zone

MAX_PREPARATION_DAYS = 2
MAX_NOTICE_DAYS = 7
MAX_ZONE_LEAD_DAYS = 1
"""A zone's date is at most one day ahead of UTC's (UTC+14, Line Islands)."""

Stay = tuple[dt.date, dt.date]
"""(check_in, check_out), check_out exclusive."""


def local_today(now: dt.datetime, time_zone: str) -> dt.date:
    """The date on the listing's wall clock at instant `now` (aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware instant")
    return now.astimezone(zone(time_zone)).date()


def earliest_check_in(now: dt.datetime, time_zone: str, min_notice_days: int) -> dt.date:
    """The first date a stay booked at `now` may begin."""
    return local_today(now, time_zone) + dt.timedelta(days=min_notice_days)


def notice_may_apply(check_in: dt.date, now: dt.datetime) -> bool:
    """Whether any listing's notice could refuse `check_in` (search leaves the filter out otherwise)."""
    return check_in < now.astimezone(dt.UTC).date() + dt.timedelta(days=MAX_ZONE_LEAD_DAYS + MAX_NOTICE_DAYS)


def notice_problem(check_in: dt.date, *, now: dt.datetime, time_zone: str, min_notice_days: int) -> str | None:
    """Why `check_in` is too soon for this listing, or None."""
    earliest = earliest_check_in(now, time_zone, min_notice_days)
    if check_in >= earliest:
        return None
    if min_notice_days == 0:
        return f"this home's local date is already {earliest.isoformat()}; the earliest check-in is that day"
    days = "1 day" if min_notice_days == 1 else f"{min_notice_days} days"
    return f"this home needs {days}' notice: the earliest check-in is {earliest.isoformat()} (the home's local date)"


def _nights(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days)]


def preparation_nights(stays: Iterable[Stay], preparation_days: int) -> set[dt.date]:
    """The nights kept free around `stays`: N before each check-in and N from each check-out.
    (A night that one stay holds may be another's buffer night; callers show it as taken.)"""
    if preparation_days <= 0:
        return set()
    gap = dt.timedelta(days=preparation_days)
    nights: set[dt.date] = set()
    for check_in, check_out in stays:
        nights.update(_nights(check_in - gap, check_in))
        nights.update(_nights(check_out, check_out + gap))
    return nights


def preparation_conflicts(
    check_in: dt.date, check_out: dt.date, others: Iterable[Stay], preparation_days: int
) -> list[dt.date]:
    """The nights of the stay `[check_in, check_out)` that fall in the preparation time of
    `others` (sorted; empty when it may be booked as far as preparation time goes). Symmetric: the
    same nights of the other stays fall in this one's buffer."""
    return sorted(set(_nights(check_in, check_out)) & preparation_nights(others, preparation_days))


def buffered_window(check_in: dt.date, check_out: dt.date, preparation_days: int) -> Stay:
    """The dates another stay must not hold nights in: the stay widened by N days each side
    (what to load to judge `preparation_conflicts`, and search's probe range)."""
    gap = dt.timedelta(days=max(preparation_days, 0))
    return check_in - gap, check_out + gap
