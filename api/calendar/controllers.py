"""The calendar, availability and quote endpoints of a listing."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from api.admin.audit import actor_of
from api.calendar.schemas import Availability, CalendarBody, QuoteRead, SeasonsBody, quote_read
from api.calendar.service import (
    MAX_AVAILABILITY_DAYS,
    future_calendar,
    future_seasons,
    listing_availability,
    priced_stay,
    replace_calendar,
    replace_seasons,
)
from api.errors import Problem, field_errors
from api.listings.service import load_own_listing, load_visible_listing
from api.security import CurrentUser, TokenIssuer
from api.validation import today
from stayflow.rules.pricing import MAX_BOOKING_HORIZON_DAYS


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
        return await replace_calendar(
            await load_own_listing(listing_id, request.user), data, request.user, actor=actor_of(request)
        )

    @get("/seasons", operation_id="getSeasons", summary="My listing's seasons and their minimum stays")
    async def seasons(self, request: Request[CurrentUser, Any, Any], listing_id: FromPath[UUID]) -> SeasonsBody:
        listing = await load_own_listing(listing_id, request.user)
        return await future_seasons(listing.id)

    @put("/seasons", operation_id="replaceSeasons", summary="Replace my listing's seasons and their minimum stays")
    async def replace_seasons(
        self, request: Request[CurrentUser, Any, Any], listing_id: FromPath[UUID], data: JSONBody[SeasonsBody]
    ) -> SeasonsBody:
        """Seasons are [start, end) ranges of check-in nights, none overlapping, each with a minimum
        stay of at most the listing's max_nights. A stay needs the minimum of the season its
        check-in night falls in, else the listing's `min_nights`. Existing bookings are not affected."""
        return await replace_seasons(
            await load_own_listing(listing_id, request.user), data, request.user, actor=actor_of(request)
        )

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
        return await listing_availability(listing, start, end)

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
