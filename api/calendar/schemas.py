"""What the calendar, availability and quote endpoints take and answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from api.listings.schemas import NightlyPrice, SeasonRange
from stayflow.rules.pricing import AdjustmentKind, NightKind, Quote

MAX_RANGES = 500


class DateRange(msgspec.Struct, forbid_unknown_fields=True):
    start: dt.date
    end: dt.date
    """Exclusive: the first night not covered."""


class PriceRange(msgspec.Struct, forbid_unknown_fields=True):
    start: dt.date
    end: dt.date
    nightly_price: NightlyPrice


class CalendarBody(msgspec.Struct, forbid_unknown_fields=True):
    blocks: Annotated[list[DateRange], msgspec.Meta(max_length=MAX_RANGES)] = msgspec.field(default_factory=list)
    price_overrides: Annotated[list[PriceRange], msgspec.Meta(max_length=MAX_RANGES)] = msgspec.field(
        default_factory=list
    )


MAX_SEASONS = 100


class SeasonsBody(msgspec.Struct, forbid_unknown_fields=True):
    seasons: Annotated[list[SeasonRange], msgspec.Meta(max_length=MAX_SEASONS)] = msgspec.field(default_factory=list)


DayClosed = Literal["past", "notice", "taken", "preparation"]
"""Why a night cannot be booked: before today, sooner than the host's minimum notice, booked or
blocked, or kept free around a booking (preparation time)."""


class Day(msgspec.Struct):
    date: dt.date
    available: bool
    nightly_price: int
    reason: DayClosed | None = None
    """Null when available."""


class Availability(msgspec.Struct):
    listing_id: UUID
    currency: str
    days: list[Day]


class NightRead(msgspec.Struct, omit_defaults=True):
    date: dt.date
    price: int
    kind: NightKind | None = None
    """`base`, `weekend` or `override`: which price the night has (absent on quotes from before
    weekend prices)."""


class AdjustmentRead(msgspec.Struct, omit_defaults=True):
    """One line that changes what the nights cost: a length-of-stay discount (negative) or the
    extra-guest fee."""

    kind: AdjustmentKind
    amount: int
    description: str
    percent: int | None = None
    base: int | None = None
    """Discounts: the nights' prices the percent is of."""
    guests: int | None = None
    """Extra guests: guests above those the price includes."""
    fee_per_night: int | None = None
    nights: int | None = None


class QuoteRead(msgspec.Struct):
    nights: int
    nightly: list[NightRead]
    adjustments: list[AdjustmentRead]
    subtotal: int
    """The nights' prices plus the adjustments: what the service fee is a share of."""
    cleaning_fee: int
    service_fee: int
    taxes: int
    total: int
    currency: str


def quote_read(quote: Quote) -> QuoteRead:
    return QuoteRead(
        nights=quote.nights,
        nightly=[NightRead(n.date, n.price, n.kind) for n in quote.nightly],
        adjustments=[AdjustmentRead(**asdict(a)) for a in quote.adjustments],
        subtotal=quote.subtotal,
        cleaning_fee=quote.cleaning_fee,
        service_fee=quote.service_fee,
        taxes=quote.taxes,
        total=quote.total,
        currency=quote.currency,
    )
