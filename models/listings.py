"""Homes, their photos, their calendars, and what users report about them."""

from enum import StrEnum

from piccolo.columns import (
    UUID,
    Array,
    Boolean,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

from models.identity import User
from stayflow.rules.listing_status import ListingStatus


class Listing(Table, tablename="listings"):
    id = UUID(primary_key=True)
    host = ForeignKey(User, on_delete=OnDelete.restrict, index=True)
    title = Varchar(length=120)
    description = Text(default="")
    property_type = Varchar(length=20)
    address_line = Varchar(length=300)
    city = Varchar(length=120)
    city_key = Varchar(length=120)
    """`city` folded for search (lower case, trimmed)."""
    country = Varchar(length=2)
    latitude = DoublePrecision()
    longitude = DoublePrecision()
    geo_cell = Integer(null=True, default=None)
    """The grid cell of latitude/longitude for radius search, set by the database (migration m0020)."""
    max_guests = Integer()
    bedrooms = Integer()
    beds = Integer()
    bathrooms = DoublePrecision()
    amenities = Array(base_column=Varchar(length=40))
    nightly_price = Integer()
    """Minor units of `currency`."""
    cleaning_fee = Integer(default=0)
    currency = Varchar(length=3, default="USD")
    min_nights = Integer(default=1)
    max_nights = Integer(default=365)
    # --- pricing rules (issue 13, m0029; `stayflow.rules.pricing.PricingRules`) ---
    weekly_discount_percent = Integer(default=0)
    """Percent off the nights for stays of 7 nights or more."""
    monthly_discount_percent = Integer(default=0)
    """Percent off the nights for stays of 28 nights or more, instead of the weekly discount."""
    weekend_price = Integer(null=True, default=None)
    """Minor units: the price of Friday and Saturday nights (listing-local); null: `nightly_price`."""
    guests_included = Integer(default=1)
    extra_guest_fee = Integer(default=0)
    """Minor units per night for each guest above `guests_included`."""
    # --- end of pricing rules ---
    instant_book = Boolean(default=False)
    cancellation_policy = Varchar(length=10, default="moderate")
    time_zone = Varchar(length=64, default="UTC")
    """IANA zone its check-in/out times are local to (derived from the coordinates unless set)."""
    check_in_time = Varchar(length=5, default="15:00")
    check_out_time = Varchar(length=5, default="11:00")
    # --- preparation time and minimum notice (issue 13 item 4, migration m0030; stayflow/rules/preparation.py)
    preparation_days = Integer(default=0)
    """Nights kept free before and after each stay (0-2)."""
    min_notice_days = Integer(default=0)
    """The earliest check-in is this many days after the listing's local today (0-7)."""
    # --- end preparation time and minimum notice
    status = Varchar(length=20, choices=ListingStatus, default=ListingStatus.draft)
    review_notes = Text(null=True, default=None)
    """Why the listing was last sent back: automatic check failures or the admin's reason."""
    rating_average = DoublePrecision(null=True, default=None)
    rating_count = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    published_at = Timestamptz(null=True, default=None)


class ListingPhoto(Table, tablename="listing_photos"):
    id = UUID(primary_key=True)
    listing = ForeignKey(Listing, on_delete=OnDelete.cascade, index=True)
    storage_key = Varchar(length=300, unique=True)
    content_type = Varchar(length=40)
    width = Integer()
    height = Integer()
    size_bytes = Integer()
    caption = Varchar(length=300, default="")
    position = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class CalendarBlock(Table, tablename="calendar_blocks"):
    """Nights the host closed: [start_date, end_date)."""

    id = UUID(primary_key=True)
    listing = ForeignKey(Listing, on_delete=OnDelete.cascade)
    start_date = Date()
    end_date = Date()
    feed: ForeignKey[Table] = ForeignKey(
        LazyTableReference("CalendarFeed", module_path="models.calendar_sync"), null=True, on_delete=OnDelete.cascade
    )
    """The imported calendar feed these nights come from (calendar sync); null: the host's own block."""


class PriceOverride(Table, tablename="price_overrides"):
    """Nights with their own price: [start_date, end_date)."""

    id = UUID(primary_key=True)
    listing = ForeignKey(Listing, on_delete=OnDelete.cascade)
    start_date = Date()
    end_date = Date()
    nightly_price = Integer()


class ListingSeason(Table, tablename="listing_seasons"):
    """A season's minimum stay: check-ins in [start_date, end_date) need at least `min_nights`."""

    id = UUID(primary_key=True)
    listing = ForeignKey(Listing, on_delete=OnDelete.cascade)
    start_date = Date()
    end_date = Date()
    min_nights = Integer()


class ReportStatus(StrEnum):
    open = "open"
    resolved = "resolved"


class ListingReport(Table, tablename="listing_reports"):
    id = UUID(primary_key=True)
    listing = ForeignKey(Listing, on_delete=OnDelete.cascade, index=True)
    reporter = ForeignKey(User, on_delete=OnDelete.cascade)
    reason = Varchar(length=30)
    details = Text(default="")
    status = Varchar(length=10, choices=ReportStatus, default=ReportStatus.open)
    resolution = Text(null=True, default=None)
    resolved_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    resolved_at = Timestamptz(null=True, default=None)
