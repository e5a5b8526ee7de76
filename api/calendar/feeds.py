"""Calendar sync for hosts (issue 13, SPEC §12): the listing's secret iCal export, its rotatable
token, and the other platforms' feeds it imports. Handlers parse, authorize, call
`api.calendar.feeds_service`, and shape the answer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from api.admin.audit import actor_of
from api.calendar import feeds_service as service
from api.errors import Problem
from api.listings.service import load_own_listing
from api.pagination import Page
from api.security import CurrentUser
from models import CalendarFeed
from stayflow.rules.listing_status import ListingStatus
from stayflow.settings import Settings
from stayflow.temporal import TemporalGateway


class FeedCreate(msgspec.Struct, forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=2000, description="http(s) iCal URL")]
    name: Annotated[str, msgspec.Meta(max_length=80, description="e.g. Airbnb, Booking.com")] = ""


class FeedConflict(msgspec.Struct):
    booking_id: UUID
    check_in: dt.date
    check_out: dt.date
    nights: list[dt.date]
    """Nights the feed closes that this Stayflow booking holds."""


class FeedRead(msgspec.Struct):
    id: UUID
    listing_id: UUID
    url: str
    name: str
    status: str
    """`pending` (not fetched yet), `ok`, or `failed` (see `last_error`; the last good nights stay blocked)."""
    last_fetched_at: dt.datetime | None
    last_success_at: dt.datetime | None
    last_error: str | None
    blocked_nights: int
    """Future nights this feed blocks now."""
    events_skipped: int
    conflicts: list[FeedConflict]
    created_at: dt.datetime


class CalendarExport(msgspec.Struct):
    url: str
    """The secret feed URL to paste into another platform's calendar import."""
    rotated_at: dt.datetime


def feed_read(feed: CalendarFeed, blocked: dict[UUID, int]) -> FeedRead:
    return FeedRead(
        id=feed.id,
        listing_id=feed.listing,
        url=feed.url,
        name=feed.name,
        status=feed.status,
        last_fetched_at=feed.last_fetched_at,
        last_success_at=feed.last_success_at,
        last_error=feed.last_error,
        blocked_nights=blocked.get(feed.id, 0),
        events_skipped=feed.events_skipped,
        conflicts=_conflicts_of(feed.conflicts),
        created_at=feed.created_at,
    )


def _conflicts_of(stored: Any) -> list[FeedConflict]:
    # piccolo hands JSONB back as its JSON text
    if isinstance(stored, str | bytes):
        return msgspec.json.decode(stored, type=list[FeedConflict])
    return msgspec.convert(stored or [], list[FeedConflict])


class CalendarFeedsController(Controller):
    path = "/api/v1/listings/{listing_id:uuid}"
    tags = ["calendar sync"]

    @get(
        "/calendar.ics",
        operation_id="exportCalendar",
        summary="The listing's booked and blocked nights as an iCal feed (secret URL)",
        exclude_from_auth=True,
        media_type="text/calendar",
    )
    async def export(
        self,
        listing_id: FromPath[UUID],
        token: Annotated[str, QueryParameter(description="the listing's export token", max_length=200)] = "",
    ) -> Response[bytes]:
        """Unknown listing, missing or wrong token: 404, the same answer for each."""
        feed = await service.exported_calendar(listing_id, token)
        if feed is None:
            raise Problem(404, "No such calendar feed.")
        return Response(
            feed,
            media_type="text/calendar; charset=utf-8",
            headers={"Content-Disposition": f'inline; filename="stayflow-{listing_id}.ics"'},
        )

    @get("/calendar/export", operation_id="getCalendarExport", summary="My listing's secret iCal export URL")
    async def export_link(
        self, request: Request[CurrentUser, Any, Any], listing_id: FromPath[UUID], settings: NamedDependency[Settings]
    ) -> CalendarExport:
        listing = await load_own_listing(listing_id, request.user)
        token = await service.export_token(listing.id)
        return CalendarExport(service.export_url(settings, listing.id, token.token), token.rotated_at)

    @post(
        "/calendar/token",
        operation_id="rotateCalendarToken",
        summary="Give my listing's export a new secret URL (the old one stops working)",
        status_code=200,
    )
    async def rotate(
        self, request: Request[CurrentUser, Any, Any], listing_id: FromPath[UUID], settings: NamedDependency[Settings]
    ) -> CalendarExport:
        listing = await load_own_listing(listing_id, request.user)
        token = await service.rotate_export_token(listing, request.user, actor=actor_of(request))
        return CalendarExport(service.export_url(settings, listing.id, token.token), token.rotated_at)

    @get("/calendar/feeds", operation_id="listCalendarFeeds", summary="The calendars my listing imports, with status")
    async def list_feeds(self, request: Request[CurrentUser, Any, Any], listing_id: FromPath[UUID]) -> Page[FeedRead]:
        listing = await load_own_listing(listing_id, request.user)
        blocked = await service.blocked_nights_by_feed(listing.id)
        return Page([feed_read(f, blocked) for f in await service.listing_feeds(listing.id)], None)

    @post(
        "/calendar/feeds",
        operation_id="addCalendarFeed",
        summary="Import another platform's iCal feed (fetched now, then every sync interval)",
    )
    async def add_feed(
        self,
        request: Request[CurrentUser, Any, Any],
        listing_id: FromPath[UUID],
        data: JSONBody[FeedCreate],
        settings: NamedDependency[Settings],
        temporal: NamedDependency[TemporalGateway],
    ) -> FeedRead:
        """422 naming why for a URL that is not http(s) or reaches a private, loopback or
        link-local address; 409 for a URL the listing already imports."""
        listing = await load_own_listing(listing_id, request.user)
        if listing.status == ListingStatus.archived:
            raise Problem(409, "An archived listing has no calendar.", slug="illegal-transition")
        feed = await service.add_feed(
            listing, data.url, data.name, request.user, actor=actor_of(request), settings=settings, temporal=temporal
        )
        return feed_read(feed, {})

    @delete(
        "/calendar/feeds/{feed_id:uuid}",
        operation_id="deleteCalendarFeed",
        summary="Stop importing a feed; the nights it blocked open again",
        status_code=204,
    )
    async def delete_feed(
        self,
        request: Request[CurrentUser, Any, Any],
        listing_id: FromPath[UUID],
        feed_id: FromPath[UUID],
        temporal: NamedDependency[TemporalGateway],
    ) -> None:
        listing = await load_own_listing(listing_id, request.user)
        await service.remove_feed(listing, feed_id, request.user, actor=actor_of(request), temporal=temporal)
