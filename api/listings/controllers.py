"""Listings: hosts create, edit, archive and submit them; everyone reads published ones (SPEC §5).
The rules live in `api.listings.service`; these handlers parse, authorize and shape the answer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from api.admin.audit import actor_of
from api.listings import search, service
from api.listings.schemas import Amenity, ListingCreate, ListingRead, ListingUpdate, SubmitAnswer
from api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from api.security import CurrentUser, TokenIssuer, requires_role
from stayflow.rules.amenities import AMENITIES
from stayflow.rules.listing_status import ListingStatus
from stayflow.rules.roles import Role
from stayflow.settings import Settings
from stayflow.storage import MediaStorage
from stayflow.temporal import TemporalGateway


class ListingsController(Controller):
    path = "/api/v1/listings"
    tags = ["listings"]

    @get(operation_id="searchListings", summary="Search published listings", exclude_from_auth=True)
    async def search(
        self,
        storage: NamedDependency[MediaStorage],
        city: Annotated[str | None, QueryParameter(max_length=120)] = None,
        country: Annotated[str | None, QueryParameter(pattern="^[A-Za-z]{2}$")] = None,
        near: Annotated[str | None, QueryParameter(description="`latitude,longitude`", max_length=60)] = None,
        radius_km: Annotated[float, QueryParameter(gt=0, le=search.MAX_RADIUS_KM)] = 10.0,
        min_price: Annotated[
            int | None, QueryParameter(ge=0, le=10_000_000, description="nightly, minor units")
        ] = None,
        max_price: Annotated[
            int | None, QueryParameter(ge=0, le=10_000_000, description="nightly, minor units")
        ] = None,
        guests: Annotated[int | None, QueryParameter(ge=1, le=50)] = None,
        amenities: Annotated[str | None, QueryParameter(description="comma-separated codes; all must match")] = None,
        check_in: FromQuery[dt.date | None] = None,
        check_out: FromQuery[dt.date | None] = None,
        instant_book: FromQuery[bool | None] = None,
        sort: FromQuery[search.Sort] = "price_asc",
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[search.ListingSummary]:
        query = search.search_query_from_params(
            city=city,
            country=country,
            near=near,
            radius_km=radius_km,
            min_price=min_price,
            max_price=max_price,
            guests=guests,
            amenities=amenities,
            check_in=check_in,
            check_out=check_out,
            instant_book=instant_book,
            sort=sort,
            limit=limit,
            cursor=cursor,
        )
        return await search.run_search(query, storage)

    @post(operation_id="createListing", summary="Create a draft listing", guards=[requires_role(Role.host)])
    async def create(
        self,
        request: Request[CurrentUser, Any, Any],
        data: JSONBody[ListingCreate],
        storage: NamedDependency[MediaStorage],
    ) -> ListingRead:
        listing = await service.create_listing(request.user, data)
        return await service.listing_read(listing, storage, for_owner=True)

    @get(
        "/{listing_id:uuid}",
        operation_id="getListing",
        summary="A listing with photos, host and rating",
        exclude_from_auth=True,
    )
    async def read(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[UUID],
        tokens: NamedDependency[TokenIssuer],
        storage: NamedDependency[MediaStorage],
    ) -> ListingRead:
        user = await tokens.optional_caller(request)
        listing = await service.load_visible_listing(listing_id, user)
        return await service.listing_read(
            listing,
            storage,
            for_owner=service.is_owner(listing, user),
            exact_location=await service.sees_exact_location(listing, user),
        )

    @patch("/{listing_id:uuid}", operation_id="updateListing", summary="Edit my listing")
    async def update(
        self,
        request: Request[CurrentUser, Any, Any],
        listing_id: FromPath[UUID],
        data: JSONBody[ListingUpdate],
        storage: NamedDependency[MediaStorage],
        temporal: NamedDependency[TemporalGateway],
        settings: NamedDependency[Settings],
    ) -> ListingRead:
        """Edits of a published listing go live at once, except material ones (title, description,
        type, location, a nightly price moved by more than 30%), which take the listing down to
        `pending_review` until an admin approves it again."""
        listing = await service.update_listing(
            listing_id, request.user, data, temporal, settings, actor=actor_of(request)
        )
        return await service.listing_read(listing, storage, for_owner=True)

    @delete("/{listing_id:uuid}", operation_id="archiveListing", summary="Archive my listing", status_code=204)
    async def archive(self, request: Request[CurrentUser, Any, Any], listing_id: FromPath[UUID]) -> None:
        """Archived listings leave search for good; their bookings and history stay."""
        await service.archive_listing(listing_id, request.user, actor=actor_of(request))

    @post(
        "/{listing_id:uuid}/submit",
        operation_id="submitListing",
        summary="Send my listing to moderation",
        status_code=202,
    )
    async def submit(
        self,
        request: Request[CurrentUser, Any, Any],
        listing_id: FromPath[UUID],
        temporal: NamedDependency[TemporalGateway],
        settings: NamedDependency[Settings],
    ) -> SubmitAnswer:
        """Runs the automatic checks now (422 with the reasons), then starts the
        ListingApprovalWorkflow, which puts the listing in `pending_review` for an admin."""
        workflow_id = await service.submit_listing(
            listing_id, request.user, temporal, settings, actor=actor_of(request)
        )
        return SubmitAnswer(status=ListingStatus.pending_review, workflow_id=workflow_id)


class HostListingsController(Controller):
    path = "/api/v1/host/listings"
    tags = ["listings"]

    @get(operation_id="myListings", summary="My listings in every status")
    async def mine(
        self,
        request: Request[CurrentUser, Any, Any],
        storage: NamedDependency[MediaStorage],
        status: FromQuery[ListingStatus | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[ListingRead]:
        return await service.listings_of_host(request.user.id, storage, status=status, limit=limit, cursor=cursor)


class AmenitiesController(Controller):
    path = "/api/v1/amenities"
    tags = ["listings"]

    @get(operation_id="amenities", summary="The amenity catalogue", exclude_from_auth=True, cache=3600)
    async def catalogue(self) -> list[Amenity]:
        return [Amenity(code, label) for code, label in AMENITIES.items()]
