"""Listings: hosts create, edit, archive and submit them; everyone reads published ones (SPEC §5)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
import phonenumbers
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.accounts.users import PublicProfile, public_profile
from api.errors import Problem, field_errors
from api.listings import search
from api.listings.search import Rating
from api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, keyset
from api.security import CurrentUser, TokenIssuer, requires_role
from models import Listing, ListingPhoto, User
from stayflow.rules import listing_status
from stayflow.rules.amenities import AMENITIES, unknown_amenities
from stayflow.rules.cities import city_key, city_name
from stayflow.rules.listing_checks import ListingFacts, review_problems
from stayflow.rules.listing_status import ListingStatus
from stayflow.rules.roles import Role
from stayflow.settings import Settings
from stayflow.storage import MediaStorage
from stayflow.temporal import TemporalGateway
from workflows.listing_approval import ListingApprovalWorkflow, ReviewRequest, approval_workflow_id

PropertyType = Literal["apartment", "house", "guesthouse", "room", "cabin", "villa", "other"]
CancellationPolicy = Literal["flexible", "moderate", "strict"]
# Two-decimal currencies only: prices are minor units and the pricing rules assume cents.
Currency = Literal["USD", "EUR", "GBP", "CAD", "AUD", "NZD", "CHF", "SEK", "NOK", "DKK", "PLN", "MXN", "BRL"]

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
    address_line: str
    city: str
    country: str
    latitude: float
    longitude: float
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
    instant_book: bool
    cancellation_policy: str
    photos: list[PhotoRead]
    rating: Rating
    host: PublicProfile | None
    review_notes: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class SubmitAnswer(msgspec.Struct):
    status: ListingStatus
    workflow_id: str


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


async def listing_read(listing: Listing, storage: MediaStorage, *, for_owner: bool) -> ListingRead:
    return (await listing_reads([listing], storage, for_owner=for_owner))[0]


async def listing_reads(listings: list[Listing], storage: MediaStorage, *, for_owner: bool) -> list[ListingRead]:
    """A page of listings with their photos and hosts: two queries, whatever the page size."""
    if not listings:
        return []
    ids = [listing.id for listing in listings]
    photos: dict[UUID, list[dict[str, Any]]] = {i: [] for i in ids}
    for photo in await ListingPhoto.select().where(ListingPhoto.listing.is_in(ids)).order_by(ListingPhoto.position):
        photos[photo["listing"]].append(photo)
    hosts = {u.id: u for u in await User.objects().where(User.id.is_in(list({x.host for x in listings})))}
    return [_listing_read(x, photos[x.id], hosts.get(x.host), storage, for_owner) for x in listings]


def _listing_read(
    listing: Listing, photos: list[dict[str, Any]], host: User | None, storage: MediaStorage, for_owner: bool
) -> ListingRead:
    return ListingRead(
        id=listing.id,
        host_id=listing.host,
        status=ListingStatus(listing.status),
        title=listing.title,
        description=listing.description,
        property_type=listing.property_type,
        address_line=listing.address_line,
        city=listing.city,
        country=listing.country,
        latitude=listing.latitude,
        longitude=listing.longitude,
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
        instant_book=listing.instant_book,
        cancellation_policy=listing.cancellation_policy,
        photos=[photo_read(p, storage) for p in photos],
        rating=Rating(listing.rating_average, listing.rating_count),
        host=public_profile(host) if host else None,
        review_notes=listing.review_notes if for_owner else None,
        created_at=listing.created_at,
        updated_at=listing.updated_at,
    )


def _check_fields(values: dict[str, Any]) -> None:
    """Cross-field rules msgspec cannot express; each failure names its field."""
    problems: list[tuple[str, str]] = []
    if "amenities" in values and (unknown := unknown_amenities(values["amenities"])):
        problems.append(("amenities", f"unknown: {', '.join(unknown)} (see GET /api/v1/amenities)"))
    if "country" in values and values["country"] not in phonenumbers.SUPPORTED_REGIONS:
        problems.append(("country", "is not an ISO 3166-1 alpha-2 country code"))
    if values.get("min_nights", 1) > values.get("max_nights", 365):
        problems.append(("min_nights", "must not be more than max_nights"))
    if problems:
        raise Problem(422, "; ".join(f"{f}: {m}" for f, m in problems), errors=field_errors(*problems))


async def load_own_listing(listing_id: UUID, user: CurrentUser) -> Listing:
    """The caller's own listing (admins may act on any); anyone else's is 404."""
    listing = await Listing.objects().get(Listing.id == listing_id)
    if listing is None or (listing.host != user.id and user.role != Role.admin):
        raise Problem(404, "No such listing.")
    return listing


async def load_visible_listing(listing_id: UUID, user: CurrentUser | None) -> Listing:
    """Published listings for everyone; others only for their host and admins."""
    listing = await Listing.objects().get(Listing.id == listing_id)
    if listing is None:
        raise Problem(404, "No such listing.")
    if listing.status != ListingStatus.published and (
        user is None or (user.id != listing.host and user.role != Role.admin)
    ):
        raise Problem(404, "No such listing.")
    return listing


async def start_review(temporal: TemporalGateway, settings: Settings, listing: Listing, host_name: str) -> str:
    """Start this listing's ListingApprovalWorkflow (one at a time; a new run after a closed one)."""
    workflow_id = approval_workflow_id(listing.id)
    client = await temporal.client()
    try:
        await client.start_workflow(
            ListingApprovalWorkflow.run,
            ReviewRequest(listing_id=str(listing.id), host_id=str(listing.host)),
            id=workflow_id,
            task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            static_summary=f"Review of “{listing.title}” by {host_name}",
        )
    except WorkflowAlreadyStartedError as exc:
        raise Problem(409, "This listing is already being reviewed.", slug="illegal-transition") from exc
    return workflow_id


async def review_is_running(temporal: TemporalGateway, listing_id: UUID) -> bool:
    client = await temporal.client()
    try:
        description = await client.get_workflow_handle(approval_workflow_id(listing_id)).describe()
    except Exception:  # no run yet
        return False
    return description.status == WorkflowExecutionStatus.RUNNING


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
        values = msgspec.structs.asdict(data)
        _check_fields(values)
        listing = Listing(**values, host=request.user.id, city_key=city_key(data.city), status=ListingStatus.draft)
        listing.city = city_name(data.city)
        listing.amenities = sorted(set(data.amenities))
        await listing.save()
        return await listing_read(listing, storage, for_owner=True)

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
        listing = await load_visible_listing(listing_id, user)
        owner = user is not None and (user.id == listing.host or user.role == Role.admin)
        return await listing_read(listing, storage, for_owner=owner)

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
        """Edits of a published listing go live at once, except a change of location, which sends
        the listing back through review."""
        listing = await load_own_listing(listing_id, request.user)
        if listing.status not in listing_status.EDITABLE:
            raise Problem(409, f"A listing that is {listing.status} cannot be edited.", slug="illegal-transition")
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        merged = {"min_nights": listing.min_nights, "max_nights": listing.max_nights} | changes
        _check_fields(merged)
        if "city" in changes:
            changes["city"] = city_name(changes["city"])
            changes["city_key"] = city_key(changes["city"])
        if "amenities" in changes:
            changes["amenities"] = sorted(set(changes["amenities"]))
        moved = any(changes.get(f, getattr(listing, f)) != getattr(listing, f) for f in listing_status.LOCATION_FIELDS)
        published = listing.status == ListingStatus.published
        if published:
            # A live listing must stay fit for review: no bait prices, no emptied description.
            photos = await ListingPhoto.count().where(ListingPhoto.listing == listing.id)
            facts = ListingFacts.of(Listing(**(listing.to_dict() | changes)), photos)
            if problems := review_problems(facts):
                raise Problem(
                    422,
                    "A published listing must stay ready for review: " + "; ".join(problems),
                    slug="not-ready-for-review",
                    errors=[{"field": "listing", "message": p} for p in problems],
                )
        changes["updated_at"] = dt.datetime.now(dt.UTC)
        condition = (Listing.id == listing.id) & Listing.status.is_in(list(listing_status.EDITABLE))
        if moved and published:
            # Moving a reviewed home is the classic bait-and-switch: it goes back to review, in the
            # same statement as the move, and the move is undone if the review cannot start.
            changes["status"] = ListingStatus.pending_review
            condition = (Listing.id == listing.id) & (Listing.status == ListingStatus.published)
        async with Listing._meta.db.transaction():
            updated = (
                await Listing.update({getattr(Listing, k): v for k, v in changes.items()})
                .where(condition)
                .returning(Listing.id)
            )
            if not updated:
                raise Problem(409, "The listing changed meanwhile; reload it and try again.", slug="illegal-transition")
            if moved and published:
                await start_review(temporal, settings, listing, request.user.full_name)
        fresh = await Listing.objects().get(Listing.id == listing.id)
        assert fresh is not None
        return await listing_read(fresh, storage, for_owner=True)

    @delete("/{listing_id:uuid}", operation_id="archiveListing", summary="Archive my listing", status_code=204)
    async def archive(self, request: Request[CurrentUser, Any, Any], listing_id: FromPath[UUID]) -> None:
        """Archived listings leave search for good; their bookings and history stay."""
        listing = await load_own_listing(listing_id, request.user)
        moved = (
            await Listing.update({Listing.status: ListingStatus.archived, Listing.updated_at: dt.datetime.now(dt.UTC)})
            .where((Listing.id == listing.id) & Listing.status.is_in(list(listing_status.TRANSITIONS["archive"])))
            .returning(Listing.id)
        )
        if not moved:
            raise Problem(409, f"A listing that is {listing.status} cannot be archived.", slug="illegal-transition")

    @post(
        "/{listing_id:uuid}/submit", operation_id="submitListing", summary="Send my listing to review", status_code=202
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
        listing = await load_own_listing(listing_id, request.user)
        if not listing_status.allowed("submit", listing.status):
            raise Problem(409, f"A listing that is {listing.status} cannot be submitted.", slug="illegal-transition")
        photos = await ListingPhoto.count().where(ListingPhoto.listing == listing.id)
        problems = review_problems(ListingFacts.of(listing, photos))
        if problems:
            raise Problem(
                422,
                "Not ready for review: " + "; ".join(problems),
                slug="not-ready-for-review",
                errors=[{"field": "listing", "message": p} for p in problems],
            )
        async with Listing._meta.db.transaction():
            moved = (
                await Listing.update(
                    {
                        Listing.status: ListingStatus.pending_review,
                        Listing.review_notes: None,
                        Listing.updated_at: dt.datetime.now(dt.UTC),
                    }
                )
                .where((Listing.id == listing.id) & Listing.status.is_in(list(listing_status.TRANSITIONS["submit"])))
                .returning(Listing.id)
            )
            if not moved:
                raise Problem(409, "This listing is already being reviewed.", slug="illegal-transition")
            workflow_id = await start_review(temporal, settings, listing, request.user.full_name)
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
        query = Listing.objects().where(Listing.host == request.user.id)
        if status is not None:
            query = query.where(Listing.status == status)
        rows, next_cursor = await keyset(
            query, time_column=Listing.created_at, id_column=Listing.id, limit=limit, cursor=cursor
        )
        return Page(items=await listing_reads(rows, storage, for_owner=True), next_cursor=next_cursor)


class Amenity(msgspec.Struct):
    code: str
    label: str


class AmenitiesController(Controller):
    path = "/api/v1/amenities"
    tags = ["listings"]

    @get(operation_id="amenities", summary="The amenity catalogue", exclude_from_auth=True, cache=3600)
    async def catalogue(self) -> list[Amenity]:
        return [Amenity(code, label) for code, label in AMENITIES.items()]
