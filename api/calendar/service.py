"""The one place a stay is checked and priced from the database's facts (the listing, its
calendar, the bookings holding nights, the platform's fees), and where a calendar is replaced.
The arithmetic itself is `stayflow/rules/pricing.py`."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Literal
from uuid import UUID

import msgspec

from api.calendar.schemas import Availability, CalendarBody, DateRange, Day, DayClosed, PriceRange, SeasonsBody
from api.errors import Problem, field_errors, invalid_fields
from api.listings.schemas import SeasonRange
from api.listings.service import audit_if_admin
from api.security import CurrentUser
from api.validation import today
from models import Booking, CalendarBlock, Listing, ListingSeason, PlatformSettings, PriceOverride
from models.bookings import HOLDS_DATES
from stayflow.audit import Actor
from stayflow.rules.listing_status import ListingStatus
from stayflow.rules.preparation import (
    buffered_window,
    earliest_check_in,
    local_today,
    notice_problem,
    preparation_nights,
)
from stayflow.rules.pricing import (
    MAX_BOOKING_HORIZON_DAYS,
    Fees,
    PriceOverrideRange,
    PricingRules,
    Quote,
    Season,
    StayRules,
    nightly_prices,
    nights_between,
    quote_stay,
    season_problems,
    stay_problems,
)

MAX_AVAILABILITY_DAYS = 366
PREPARATION_SLUG = "preparation-time"
NOTICE_SLUG = "min-notice"


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


NightClosed = Literal["taken", "preparation"]


async def taken_nights(
    listing: Listing, start: dt.date, end: dt.date, *, except_booking: UUID | None = None
) -> dict[dt.date, NightClosed]:
    """Nights in [start, end) no new stay may hold: `taken` (blocked by the host or a feed, or
    held by a booking other than `except_booking`: a booking being changed does not block itself)
    or `preparation` (kept free around a booking, `stayflow.rules.preparation`)."""
    blocks = await CalendarBlock.select(CalendarBlock.start_date, CalendarBlock.end_date).where(
        (CalendarBlock.listing == listing.id) & (CalendarBlock.start_date < end) & (CalendarBlock.end_date > start)
    )
    # Bookings up to the preparation time away still close nights of [start, end).
    reach_start, reach_end = buffered_window(start, end, listing.preparation_days)
    holding = Booking.select(Booking.check_in, Booking.check_out).where(
        (Booking.listing == listing.id)
        & Booking.status.is_in(list(HOLDS_DATES))
        & (Booking.check_in < reach_end)
        & (Booking.check_out > reach_start)
    )
    if except_booking is not None:
        holding = holding.where(Booking.id != except_booking)
    stays = [(b["check_in"], b["check_out"]) for b in await holding]
    closed: dict[dt.date, NightClosed] = dict.fromkeys(
        (n for n in preparation_nights(stays, listing.preparation_days) if start <= n < end), "preparation"
    )
    ranges = [(b["start_date"], b["end_date"]) for b in blocks] + stays
    closed.update(
        (night, "taken") for first, last in ranges for night in nights_between(max(first, start), min(last, end))
    )
    return closed


async def priced_stay(
    listing: Listing,
    check_in: dt.date,
    check_out: dt.date,
    guests: int,
    *,
    except_booking: UUID | None = None,
    judge_notice: bool = True,
) -> Quote:
    """The one way a stay is checked and priced: quotes now, bookings next. 422 for a stay the
    listing's rules refuse (a check-in sooner than its notice: `min-notice`, unless
    `judge_notice` is off: a change that keeps the booked check-in), 409 when a night is taken
    (`dates-unavailable`) or kept free around another stay (`preparation-time`)."""
    if listing.status != ListingStatus.published:
        raise Problem(409, "Only published listings can be quoted or booked.", slug="not-bookable")
    seasons = await seasons_of(listing.id, on_or_after=check_in)
    rules = StayRules(listing.max_guests, listing.min_nights, listing.max_nights, seasons)
    problems = stay_problems(check_in=check_in, check_out=check_out, guests=guests, rules=rules, today=today())
    if problems:
        raise invalid_fields(problems)
    if judge_notice:
        raise_if_too_soon(listing, check_in)
    raise_if_closed(await taken_nights(listing, check_in, check_out, except_booking=except_booking))
    return quote_stay(
        check_in=check_in,
        check_out=check_out,
        base_price=listing.nightly_price,
        cleaning_fee=listing.cleaning_fee,
        currency=listing.currency,
        overrides=await price_overrides(listing.id, check_in, check_out),
        fees=await current_fees(),
        guests=guests,
        rules=pricing_rules(listing),
    )


def pricing_rules(listing: Listing) -> PricingRules:
    """The listing's pricing rules as the pricing function takes them (and bookings freeze them)."""
    return PricingRules(
        weekly_discount_percent=listing.weekly_discount_percent,
        monthly_discount_percent=listing.monthly_discount_percent,
        weekend_price=listing.weekend_price,
        guests_included=listing.guests_included,
        extra_guest_fee=listing.extra_guest_fee,
    )


async def seasons_of(listing_id: UUID, *, on_or_after: dt.date) -> list[Season]:
    """The listing's seasons that end after `on_or_after`, in order."""
    rows = (
        await ListingSeason.select()
        .where((ListingSeason.listing == listing_id) & (ListingSeason.end_date > on_or_after))
        .order_by(ListingSeason.start_date)
    )
    return [Season(r["start_date"], r["end_date"], r["min_nights"]) for r in rows]


def raise_if_too_soon(listing: Listing, check_in: dt.date) -> None:
    """422 for a check-in sooner than the listing's minimum notice, judged on its local clock now."""
    now = dt.datetime.now(dt.UTC)
    problem = notice_problem(check_in, now=now, time_zone=listing.time_zone, min_notice_days=listing.min_notice_days)
    if problem:
        raise Problem(
            422,
            f"check_in: {problem}",
            slug=NOTICE_SLUG,
            errors=field_errors(("check_in", problem)),
            earliest_check_in=earliest_check_in(now, listing.time_zone, listing.min_notice_days).isoformat(),
        )


def raise_if_closed(closed: dict[dt.date, NightClosed]) -> None:
    """409 naming the nights of a stay that other stays hold or keep free (preparation time)."""
    taken = sorted(d for d, why in closed.items() if why == "taken")
    if taken:
        nights = ", ".join(d.isoformat() for d in taken)
        raise Problem(
            409,
            f"These nights are not available: {nights}.",
            slug="dates-unavailable",
            unavailable=[d.isoformat() for d in taken],
        )
    if closed:
        nights = ", ".join(d.isoformat() for d in sorted(closed))
        raise Problem(
            409,
            f"The host keeps these nights free to prepare the home between stays: {nights}.",
            slug=PREPARATION_SLUG,
            unavailable=sorted(d.isoformat() for d in closed),
        )


async def listing_availability(listing: Listing, start: dt.date, end: dt.date) -> Availability:
    """Each day of [start, end): free or not (and why not), and its price."""
    closed = await taken_nights(listing, start, end)
    overrides = await price_overrides(listing.id, start, end)
    return Availability(listing.id, listing.currency, availability_days(listing, start, end, closed, overrides))


def availability_days(
    listing: Listing,
    start: dt.date,
    end: dt.date,
    closed: dict[dt.date, NightClosed],
    overrides: list[PriceOverrideRange],
) -> list[Day]:
    now = dt.datetime.now(dt.UTC)
    # The first check-in any booking may have: not before today (UTC, as every stay) nor the home's notice.
    started = max(today(), local_today(now, listing.time_zone))
    first = max(today(), earliest_check_in(now, listing.time_zone, listing.min_notice_days))

    def reason(night: dt.date) -> DayClosed | None:
        if night < started:
            return "past"
        if night < first:
            return "notice"
        return closed.get(night)

    days = []
    for n in nightly_prices(nights_between(start, end), listing.nightly_price, overrides, listing.weekend_price):
        why = reason(n.date)
        days.append(Day(date=n.date, available=why is None, nightly_price=n.price, reason=why))
    return days


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
        .where((CalendarBlock.listing == listing_id) & CalendarBlock.feed.is_null() & (CalendarBlock.end_date > first))
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


async def replace_calendar(listing: Listing, body: CalendarBody, user: CurrentUser, *, actor: Actor) -> CalendarBody:
    """The host's calendar from today on becomes `body`; past nights keep what they had. An admin's
    replacement of another's calendar is audited in the same transaction."""
    if listing.status == ListingStatus.archived:
        raise Problem(409, "An archived listing has no calendar.", slug="illegal-transition")
    first = today()
    problems = _calendar_problems(body, first)
    if problems:
        raise invalid_fields(problems)
    async with Listing._meta.db.transaction():
        # One calendar replacement at a time per listing: no interleaved delete-and-insert.
        await Listing.raw("SELECT id FROM listings WHERE id = {} FOR UPDATE", listing.id)
        # The nights imported calendar feeds close are theirs to replace (calendar sync), not the host's.
        own_blocks = (CalendarBlock.listing == listing.id) & CalendarBlock.feed.is_null()
        for table, owned in ((CalendarBlock, own_blocks), (PriceOverride, PriceOverride.listing == listing.id)):
            await table.delete().where(owned & (table.start_date >= first))
            await table.update({table.end_date: first}).where(
                owned & (table.start_date < first) & (table.end_date > first)
            )
        if body.blocks:
            await CalendarBlock.insert(
                *[CalendarBlock(listing=listing.id, start_date=b.start, end_date=b.end) for b in body.blocks]
            )
        if body.price_overrides:
            await PriceOverride.insert(
                *[
                    PriceOverride(listing=listing.id, start_date=o.start, end_date=o.end, nightly_price=o.nightly_price)
                    for o in body.price_overrides
                ]
            )
        await audit_if_admin(user, actor, listing, "listing.calendar_replace", after=msgspec.to_builtins(body))
    return await future_calendar(listing.id)


async def future_seasons(listing_id: UUID) -> SeasonsBody:
    return SeasonsBody(
        seasons=[SeasonRange(s.start, s.end, s.min_nights) for s in await seasons_of(listing_id, on_or_after=today())]
    )


async def replace_seasons(listing: Listing, body: SeasonsBody, user: CurrentUser, *, actor: Actor) -> SeasonsBody:
    """The listing's seasons become `body` (ended seasons go with the old ones: they judge no stay
    any more). Checked against the listing's max_nights under its row lock, so an edit of max_nights
    cannot slip in between; an admin's replacement of another's seasons is audited with it."""
    if listing.status == ListingStatus.archived:
        raise Problem(409, "An archived listing has no seasons.", slug="illegal-transition")
    seasons = [Season(s.start, s.end, s.min_nights) for s in body.seasons]
    async with Listing._meta.db.transaction():
        locked = await Listing.raw("SELECT max_nights FROM listings WHERE id = {} FOR UPDATE", listing.id)
        problems = season_problems(seasons, max_nights=locked[0]["max_nights"], today=today())
        if problems:
            raise invalid_fields(problems)
        await ListingSeason.delete().where(ListingSeason.listing == listing.id)
        if seasons:
            await ListingSeason.insert(
                *[
                    ListingSeason(listing=listing.id, start_date=s.start, end_date=s.end, min_nights=s.min_nights)
                    for s in seasons
                ]
            )
        await audit_if_admin(user, actor, listing, "listing.seasons_replace", after=msgspec.to_builtins(body))
    return await future_seasons(listing.id)
