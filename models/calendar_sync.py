"""Calendar sync (issue 13): a listing's secret export token and the other platforms' feeds it
imports. The nights a feed closes are rows of `calendar_blocks` tagged with the feed, so every
reader of blocks (availability, quotes, bookings, search) honours them unchanged."""

from enum import StrEnum

from piccolo.columns import JSONB, UUID, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from models.listings import Listing


class FeedStatus(StrEnum):
    pending = "pending"
    """Added, not fetched yet."""
    ok = "ok"
    failed = "failed"
    """The last fetch failed (`last_error`); the nights of the last good fetch stay blocked."""


class CalendarFeed(Table, tablename="calendar_feeds"):
    id = UUID(primary_key=True)
    listing = ForeignKey(Listing, on_delete=OnDelete.cascade, index=True)
    url = Varchar(length=2000)
    name = Varchar(length=80, default="")
    status = Varchar(length=10, choices=FeedStatus, default=FeedStatus.pending)
    last_fetched_at = Timestamptz(null=True, default=None)
    last_success_at = Timestamptz(null=True, default=None)
    last_error = Text(null=True, default=None)
    events_skipped = Integer(default=0)
    """Events of the last good fetch that could not be read (no start, a bad date)."""
    conflicts = JSONB(default=[])
    """Bookings here holding nights the feed closes, as of the last good fetch:
    `[{"booking_id", "check_in", "check_out", "nights": [date, ...]}]`; the host and admins are told."""
    created_at = Timestamptz(default=TimestamptzNow())


class ListingCalendarToken(Table, tablename="listing_calendar_tokens"):
    """The secret in a listing's export URL; rotating it makes every copy of the old URL stop working."""

    id = UUID(primary_key=True)
    listing = ForeignKey(Listing, on_delete=OnDelete.cascade, unique=True)
    token = Varchar(length=64, unique=True)
    rotated_at = Timestamptz(default=TimestamptzNow())
