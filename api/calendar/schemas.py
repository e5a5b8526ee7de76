"""What the calendar, availability and quote endpoints take and answer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from api.listings.schemas import NightlyPrice
from stayflow.rules.pricing import Quote

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


class NightRead(msgspec.Struct):
    date: dt.date
    price: int


class QuoteRead(msgspec.Struct):
    nights: int
    nightly: list[NightRead]
    subtotal: int
    cleaning_fee: int
    service_fee: int
    taxes: int
    total: int
    currency: str


def quote_read(quote: Quote) -> QuoteRead:
    return QuoteRead(
        nights=quote.nights,
        nightly=[NightRead(n.date, n.price) for n in quote.nightly],
        subtotal=quote.subtotal,
        cleaning_fee=quote.cleaning_fee,
        service_fee=quote.service_fee,
        taxes=quote.taxes,
        total=quote.total,
        currency=quote.currency,
    )
