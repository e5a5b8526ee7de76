"""A listing's calendar (blocks, price overrides), its live availability, and quotes (SPEC §5)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from api.errors import Problem, field_errors
from api.listings.schemas import NightlyPrice
from api.listings.service import load_own_listing, load_visible_listing
from api.security import CurrentUser, TokenIssuer
from api.validation import today
from models import Booking, CalendarBlock, Listing, PlatformSettings, PriceOverride
from models.bookings import HOLDS_DATES
from stayflow.rules.listing_status import ListingStatus
from stayflow.rules.pricing import (
    MAX_BOOKING_HORIZON_DAYS,
    Fees,
    PriceOverrideRange,
    Quote,
    StayRules,
    nightly_prices,
    nights_between,
    quote_stay,
    stay_problems,
)

MAX_RANGES = 500
MAX_AVAILABILITY_DAYS = 366


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


class Day(msgspec.Struct):
    date: dt.date
    available: bool
    nightly_price: int


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


async def current_platform() -> PlatformSettings:
    """The platform settings in force now (the migration creates the row; defaults if missing)."""
    return await PlatformSettings.objects().get(PlatformSettings.id == 1) or PlatformSettings(id=1)


async def current_fees() -> Fees:
    row = await current_platform()
    return Fees(service_fee_bps=row.service_fee_bps, tax_bps=row.tax_bps)


async def price_overrides(listing_id: UUID, start: dt.date, end: dt.date) -> list[PriceOverrideRange]:
    rows = await PriceOverride.select().where(
        (PriceOverride.listing == listing_id) & (PriceOverride.start_date < end) & (PriceOverride.end_date > start)
    )
    return [PriceOverrideRange(r["start_date"], r["end_date"], r["nightly_price"]) for r in rows]


async def taken_nights(
    listing_id: UUID, start: dt.date, end: dt.date, *, except_booking: UUID | None = None
) -> set[dt.date]:
    """Nights in [start, end) that are blocked by the host or held by a booking (other than
    `except_booking`: a booking being changed does not block itself)."""
    blocks = await CalendarBlock.select(CalendarBlock.start_date, CalendarBlock.end_date).where(
        (CalendarBlock.listing == listing_id) & (CalendarBlock.start_date < end) & (CalendarBlock.end_date > start)
    )
    holding = Booking.select(Booking.check_in, Booking.check_out).where(
        (Booking.listing == listing_id)
        & Booking.status.is_in(list(HOLDS_DATES))
        & (Booking.check_in < end)
        & (Booking.check_out > start)
    )
    if except_booking is not None:
        holding = holding.where(Booking.id != except_booking)
    bookings = await holding
    ranges = [(b["start_date"], b["end_date"]) for b in blocks] + [(b["check_in"], b["check_out"]) for b in bookings]
    return {night for first, last in ranges for night in nights_between(max(first, start), min(last, end))}


async def priced_stay(
    listing: Listing, check_in: dt.date, check_out: dt.date, guests: int, *, except_booking: UUID | None = None
) -> Quote:
    """The one way a stay is checked and priced: quotes now, bookings next. 422 for a stay the
    listing's rules refuse, 409 when a night is taken."""
    if listing.status != ListingStatus.published:
        raise Problem(409, "Only published listings can be quoted or booked.", slug="not-bookable")
    rules = StayRules(listing.max_guests, listing.min_nights, listing.max_nights)
    problems = stay_problems(check_in=check_in, check_out=check_out, guests=guests, rules=rules, today=today())
    if problems:
        raise Problem(422, "; ".join(f"{f}: {m}" for f, m in problems), errors=field_errors(*problems))
    taken = await taken_nights(listing.id, check_in, check_out, except_booking=except_booking)
    if taken:
        nights = ", ".join(d.isoformat() for d in sorted(taken))
        raise Problem(
            409,
            f"These nights are not available: {nights}.",
            slug="dates-unavailable",
            unavailable=sorted(d.isoformat() for d in taken),
        )
    return quote_stay(
        check_in=check_in,
        check_out=check_out,
        base_price=listing.nightly_price,
        cleaning_fee=listing.cleaning_fee,
        currency=listing.currency,
        overrides=await price_overrides(listing.id, check_in, check_out),
        fees=await current_fees(),
    )


def _calendar_problems(body: CalendarBody, first_day: dt.date) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    horizon = first_day + dt.timedelta(days=MAX_BOOKING_HORIZON_DAYS)
    named: list[tuple[str, DateRange | PriceRange]] = [(f"blocks[{i}]", r) for i, r in enumerate(body.blocks)]
    named += [(f"price_overrides[{i}]", r) for i, r in enumerate(body.price_overrides)]
    for name, r in named:
        if r.end <= r.start:
            problems.append((name, "end must be after start"))
        elif r.start < first_day:
            problems.append((name, "must not start in the past"))
        elif r.end > horizon:
            problems.append((name, f"must end within {MAX_BOOKING_HORIZON_DAYS} days"))
    overrides = sorted(body.price_overrides, key=lambda r: r.start)
    for before, after in itertools.pairwise(overrides):
        if after.start < before.end:
            problems.append(("price_overrides", f"{after.start} is covered by two price overrides"))
    return problems


async def future_calendar(listing_id: UUID) -> CalendarBody:
    first = today()
    blocks = (
        await CalendarBlock.select()
        .where((CalendarBlock.listing == listing_id) & (CalendarBlock.end_date > first))
        .order_by(CalendarBlock.start_date)
    )
    overrides = (
        await PriceOverride.select()
        .where((PriceOverride.listing == listing_id) & (PriceOverride.end_date > first))
        .order_by(PriceOverride.start_date)
    )
    return CalendarBody(
        blocks=[DateRange(b["start_date"], b["end_date"]) for b in blocks],
        price_overrides=[PriceRange(o["start_date"], o["end_date"], o["nightly_price"]) for o in overrides],
    )


class CalendarController(Controller):
    path = "/api/v1/listings/{listing_id:uuid}"
    tags = ["calendar"]

    @get("/calendar", operation_id="getCalendar", summary="My listing's future blocks and price overrides")
    async def read(self, request: Request[CurrentUser, Any, Any], listing_id: FromPath[UUID]) -> CalendarBody:
        listing = await load_own_listing(listing_id, request.user)
        return await future_calendar(listing.id)

    @put("/calendar", operation_id="replaceCalendar", summary="Replace my listing's future blocks and overrides")
    async def replace(
        self, request: Request[CurrentUser, Any, Any], listing_id: FromPath[UUID], data: JSONBody[CalendarBody]
    ) -> CalendarBody:
        """Ranges are [start, end). Past nights keep what they had; existing bookings are not
        affected by blocks."""
        listing = await load_own_listing(listing_id, request.user)
        if listing.status == ListingStatus.archived:
            raise Problem(409, "An archived listing has no calendar.", slug="illegal-transition")
        first = today()
        problems = _calendar_problems(data, first)
        if problems:
            raise Problem(422, "; ".join(f"{f}: {m}" for f, m in problems), errors=field_errors(*problems))
        async with Listing._meta.db.transaction():
            # One calendar replacement at a time per listing: no interleaved delete-and-insert.
            await Listing.raw("SELECT id FROM listings WHERE id = {} FOR UPDATE", listing.id)
            for table in (CalendarBlock, PriceOverride):
                await table.delete().where((table.listing == listing.id) & (table.start_date >= first))
                await table.update({table.end_date: first}).where(
                    (table.listing == listing.id) & (table.start_date < first) & (table.end_date > first)
                )
            if data.blocks:
                await CalendarBlock.insert(
                    *[CalendarBlock(listing=listing.id, start_date=b.start, end_date=b.end) for b in data.blocks]
                )
            if data.price_overrides:
                await PriceOverride.insert(
                    *[
                        PriceOverride(
                            listing=listing.id, start_date=o.start, end_date=o.end, nightly_price=o.nightly_price
                        )
                        for o in data.price_overrides
                    ]
                )
        return await future_calendar(listing.id)

    @get(
        "/availability",
        operation_id="getAvailability",
        summary="Each day's availability and price",
        exclude_from_auth=True,
    )
    async def availability(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[UUID],
        tokens: NamedDependency[TokenIssuer],
        from_: Annotated[dt.date | None, QueryParameter(name="from", description="first day (default today)")] = None,
        to: Annotated[dt.date | None, QueryParameter(description="day after the last (default: 30 days on)")] = None,
    ) -> Availability:
        listing = await load_visible_listing(listing_id, await tokens.optional_caller(request))
        start = from_ or today()
        if abs((start - today()).days) > MAX_BOOKING_HORIZON_DAYS:
            raise Problem(
                422,
                f"from: must be within {MAX_BOOKING_HORIZON_DAYS} days of today",
                errors=field_errors(("from", f"within {MAX_BOOKING_HORIZON_DAYS} days of today")),
            )
        end = to or start + dt.timedelta(days=30)
        if end <= start:
            raise Problem(422, "to: must be after from", errors=field_errors(("to", "must be after from")))
        if (end - start).days > MAX_AVAILABILITY_DAYS:
            raise Problem(
                422,
                f"to: at most {MAX_AVAILABILITY_DAYS} days after from",
                errors=field_errors(("to", f"at most {MAX_AVAILABILITY_DAYS} days after from")),
            )
        taken = await taken_nights(listing.id, start, end)
        overrides = await price_overrides(listing.id, start, end)
        return Availability(listing.id, listing.currency, availability_days(listing, start, end, taken, overrides))

    @get("/quote", operation_id="getQuote", summary="The full price of a stay", exclude_from_auth=True)
    async def quote(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[UUID],
        check_in: FromQuery[dt.date],
        check_out: FromQuery[dt.date],
        tokens: NamedDependency[TokenIssuer],
        guests: Annotated[int, QueryParameter(ge=1, le=50)] = 1,
    ) -> QuoteRead:
        listing = await load_visible_listing(listing_id, await tokens.optional_caller(request))
        return quote_read(await priced_stay(listing, check_in, check_out, guests))


def availability_days(
    listing: Listing, start: dt.date, end: dt.date, taken: set[dt.date], overrides: list[PriceOverrideRange]
) -> list[Day]:
    first = today()
    return [
        Day(date=n.date, available=n.date >= first and n.date not in taken, nightly_price=n.price)
        for n in nightly_prices(nights_between(start, end), listing.nightly_price, overrides)
    ]
