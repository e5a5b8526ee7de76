"""The listings API's request and response bodies, and how a stored listing reads (SPEC §5)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from api.accounts.users import PublicProfile, public_profile
from api.listings.search import Rating
from models import Listing, ListingPhoto, User
from stayflow.rules.amenities import AMENITIES
from stayflow.rules.listing_status import ListingStatus
from stayflow.rules.location import approximate_point
from stayflow.rules.preparation import MAX_NOTICE_DAYS, MAX_PREPARATION_DAYS
from stayflow.storage import MediaStorage

PropertyType = Literal["apartment", "house", "guesthouse", "room", "cabin", "villa", "other"]
CancellationPolicy = Literal["flexible", "moderate", "strict"]
# Prices are integers of the currency's minor unit (cents; whole yen and won, which have none), priced
# in minor units and formatted by stayflow/money.py. Three-decimal currencies (KWD, BHD, ...) wait:
# Stripe takes their amounts only in multiples of 10, which prices and refunds do not round to yet.
Currency = Literal[
    "USD", "EUR", "GBP", "CAD", "AUD", "NZD", "CHF", "SEK", "NOK", "DKK", "PLN", "MXN", "BRL", "JPY", "KRW"
]

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Description = Annotated[str, msgspec.Meta(max_length=5000)]
Address = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
City = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Country = Annotated[str, msgspec.Meta(pattern="^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Guests = Annotated[int, msgspec.Meta(ge=1, le=50)]
Rooms = Annotated[int, msgspec.Meta(ge=0, le=100)]
Bathrooms = Annotated[float, msgspec.Meta(ge=0, le=50, multiple_of=0.5)]
Amenities = Annotated[list[str], msgspec.Meta(max_length=len(AMENITIES))]
NightlyPrice = Annotated[int, msgspec.Meta(ge=100, le=10_000_000, description="minor units, 1.00 to 100,000.00")]
CleaningFee = Annotated[int, msgspec.Meta(ge=0, le=5_000_000, description="minor units")]
Nights = Annotated[int, msgspec.Meta(ge=1, le=365)]
DiscountPercent = Annotated[int, msgspec.Meta(ge=0, le=100, description="whole percent off the nights, 0 to 100")]
WeekendPrice = Annotated[
    int, msgspec.Meta(ge=100, le=10_000_000, description="minor units: Friday and Saturday nights' price")
]
ExtraGuestFee = Annotated[
    int, msgspec.Meta(ge=0, le=5_000_000, description="minor units per night for each guest above guests_included")
]
TimeZone = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        description="IANA time zone (e.g. Europe/Berlin); derived from latitude/longitude when not given",
    ),
]
LocalTime = Annotated[
    str, msgspec.Meta(pattern="^([01][0-9]|2[0-3]):[0-5][0-9]$", description="local time, HH:MM (24-hour)")
]
# --- preparation time and minimum notice (stayflow/rules/preparation.py)
PreparationDays = Annotated[
    int,
    msgspec.Meta(ge=0, le=MAX_PREPARATION_DAYS, description="nights kept free before and after each stay for cleaning"),
]
NoticeDays = Annotated[
    int,
    msgspec.Meta(
        ge=0,
        le=MAX_NOTICE_DAYS,
        description="days between the home's local today and the earliest check-in (0: same day)",
    ),
]
# --- end preparation time and minimum notice


class ListingCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    property_type: PropertyType
    address_line: Address
    city: City
    country: Country
    latitude: Latitude
    longitude: Longitude
    max_guests: Guests
    bedrooms: Rooms
    beds: Rooms
    bathrooms: Bathrooms
    nightly_price: NightlyPrice
    description: Description = ""
    amenities: Amenities = msgspec.field(default_factory=list)
    cleaning_fee: CleaningFee = 0
    currency: Currency = "USD"
    min_nights: Nights = 1
    max_nights: Nights = 365
    instant_book: bool = False
    cancellation_policy: CancellationPolicy = "moderate"
    time_zone: TimeZone | msgspec.UnsetType = msgspec.UNSET
    check_in_time: LocalTime = "15:00"
    check_out_time: LocalTime = "11:00"
    # Pricing rules (`stayflow.rules.pricing`): all off unless given.
    weekly_discount_percent: DiscountPercent = 0
    monthly_discount_percent: DiscountPercent = 0
    weekend_price: WeekendPrice | None = None
    guests_included: Guests = 1
    extra_guest_fee: ExtraGuestFee = 0
    preparation_days: PreparationDays = 0
    min_notice_days: NoticeDays = 0


class ListingUpdate(msgspec.Struct, forbid_unknown_fields=True):
    title: Title | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    property_type: PropertyType | msgspec.UnsetType = msgspec.UNSET
    address_line: Address | msgspec.UnsetType = msgspec.UNSET
    city: City | msgspec.UnsetType = msgspec.UNSET
    country: Country | msgspec.UnsetType = msgspec.UNSET
    latitude: Latitude | msgspec.UnsetType = msgspec.UNSET
    longitude: Longitude | msgspec.UnsetType = msgspec.UNSET
    max_guests: Guests | msgspec.UnsetType = msgspec.UNSET
    bedrooms: Rooms | msgspec.UnsetType = msgspec.UNSET
    beds: Rooms | msgspec.UnsetType = msgspec.UNSET
    bathrooms: Bathrooms | msgspec.UnsetType = msgspec.UNSET
    amenities: Amenities | msgspec.UnsetType = msgspec.UNSET
    nightly_price: NightlyPrice | msgspec.UnsetType = msgspec.UNSET
    cleaning_fee: CleaningFee | msgspec.UnsetType = msgspec.UNSET
    currency: Currency | msgspec.UnsetType = msgspec.UNSET
    min_nights: Nights | msgspec.UnsetType = msgspec.UNSET
    max_nights: Nights | msgspec.UnsetType = msgspec.UNSET
    instant_book: bool | msgspec.UnsetType = msgspec.UNSET
    cancellation_policy: CancellationPolicy | msgspec.UnsetType = msgspec.UNSET
    time_zone: TimeZone | msgspec.UnsetType = msgspec.UNSET
    check_in_time: LocalTime | msgspec.UnsetType = msgspec.UNSET
    check_out_time: LocalTime | msgspec.UnsetType = msgspec.UNSET
    weekly_discount_percent: DiscountPercent | msgspec.UnsetType = msgspec.UNSET
    monthly_discount_percent: DiscountPercent | msgspec.UnsetType = msgspec.UNSET
    weekend_price: WeekendPrice | msgspec.UnsetType | None = msgspec.UNSET
    """null: Friday and Saturday nights cost the nightly price again."""
    guests_included: Guests | msgspec.UnsetType = msgspec.UNSET
    extra_guest_fee: ExtraGuestFee | msgspec.UnsetType = msgspec.UNSET

    preparation_days: PreparationDays | msgspec.UnsetType = msgspec.UNSET
    min_notice_days: NoticeDays | msgspec.UnsetType = msgspec.UNSET


class SeasonRange(msgspec.Struct, forbid_unknown_fields=True):
    """Check-ins from `start` up to (not including) `end` need at least `min_nights`."""

    start: dt.date
    end: dt.date
    """Exclusive: the first check-in night not in the season."""
    min_nights: Nights


class PhotoRead(msgspec.Struct):
    id: UUID
    url: str
    caption: str
    position: int
    width: int
    height: int


class ListingRead(msgspec.Struct):
    id: UUID
    host_id: UUID
    status: ListingStatus
    title: str
    description: str
    property_type: str
    address_line: str | None
    """Only for the host, admins and guests with a confirmed stay; null for everyone else."""
    city: str
    country: str
    latitude: float
    longitude: float
    """Exact where `location_exact`; otherwise a point within about a kilometre of the home."""
    location_exact: bool
    max_guests: int
    bedrooms: int
    beds: int
    bathrooms: float
    amenities: list[str]
    nightly_price: int
    cleaning_fee: int
    currency: str
    min_nights: int
    max_nights: int
    weekly_discount_percent: int
    """Percent off the nights for stays of 7 nights or more."""
    monthly_discount_percent: int
    """Percent off for 28 nights or more, instead of the weekly discount (0: the weekly one applies)."""
    weekend_price: int | None
    """Friday and Saturday nights' price (listing-local); null: the nightly price. Price overrides win."""
    guests_included: int
    extra_guest_fee: int
    """Per night for each guest above `guests_included`."""
    seasons: list[SeasonRange]
    """Minimum stays by the season of the check-in night (else `min_nights`); current and future ones."""
    instant_book: bool
    cancellation_policy: str
    time_zone: str
    """IANA zone the check-in and check-out times are local to."""
    check_in_time: str
    check_out_time: str
    preparation_days: int
    """Nights kept free before and after each stay."""
    min_notice_days: int
    """The earliest check-in is this many days after the home's local today."""
    photos: list[PhotoRead]
    rating: Rating
    host: PublicProfile | None
    review_notes: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class SubmitAnswer(msgspec.Struct):
    status: ListingStatus
    workflow_id: str


class Amenity(msgspec.Struct):
    code: str
    label: str


def photo_read(photo: ListingPhoto | dict[str, Any], storage: MediaStorage) -> PhotoRead:
    row = photo if isinstance(photo, dict) else photo.to_dict()
    return PhotoRead(
        id=row["id"],
        url=storage.url(row["storage_key"]),
        caption=row["caption"],
        position=row["position"],
        width=row["width"],
        height=row["height"],
    )


def listing_read_of(
    listing: Listing,
    photos: list[dict[str, Any]],
    host: User | None,
    storage: MediaStorage,
    for_owner: bool,
    exact_location: bool | None = None,
    seasons: list[SeasonRange] | None = None,
) -> ListingRead:
    """`for_owner`: the host or an admin (moderation notes, the exact location); `exact_location`
    also for a guest with a confirmed stay (default: as `for_owner`)."""
    exact = for_owner if exact_location is None else exact_location
    latitude, longitude = (
        (listing.latitude, listing.longitude)
        if exact
        else approximate_point(listing.id, listing.latitude, listing.longitude)
    )
    return ListingRead(
        id=listing.id,
        host_id=listing.host,
        status=ListingStatus(listing.status),
        title=listing.title,
        description=listing.description,
        property_type=listing.property_type,
        address_line=listing.address_line if exact else None,
        city=listing.city,
        country=listing.country,
        latitude=latitude,
        longitude=longitude,
        location_exact=exact,
        max_guests=listing.max_guests,
        bedrooms=listing.bedrooms,
        beds=listing.beds,
        bathrooms=listing.bathrooms,
        amenities=list(listing.amenities),
        nightly_price=listing.nightly_price,
        cleaning_fee=listing.cleaning_fee,
        currency=listing.currency,
        min_nights=listing.min_nights,
        max_nights=listing.max_nights,
        weekly_discount_percent=listing.weekly_discount_percent,
        monthly_discount_percent=listing.monthly_discount_percent,
        weekend_price=listing.weekend_price,
        guests_included=listing.guests_included,
        extra_guest_fee=listing.extra_guest_fee,
        seasons=seasons or [],
        instant_book=listing.instant_book,
        cancellation_policy=listing.cancellation_policy,
        time_zone=listing.time_zone,
        check_in_time=listing.check_in_time,
        check_out_time=listing.check_out_time,
        preparation_days=listing.preparation_days,
        min_notice_days=listing.min_notice_days,
        photos=[photo_read(p, storage) for p in photos],
        rating=Rating(listing.rating_average, listing.rating_count),
        host=public_profile(host) if host else None,
        review_notes=listing.review_notes if for_owner else None,
        created_at=listing.created_at,
        updated_at=listing.updated_at,
    )
