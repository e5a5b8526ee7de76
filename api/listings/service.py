"""What may happen to a listing, and the rows and processes that record it (SPEC §5, §9).

A host creates, edits, archives and submits a listing; an admin moderates it (approve, reject,
suspend, restore); anyone may report it. Every function takes plain inputs and raises `Problem`;
the controllers only parse, authorize and shape the answer.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import msgspec
import phonenumbers
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.errors import Problem, field_errors
from api.listings.schemas import ListingCreate, ListingRead, ListingUpdate, SeasonRange, listing_read_of
from api.pagination import Page, keyset
from api.payouts.service import ensure_host_can_publish
from api.posting_limits import count_post
from api.security import CurrentUser
from api.validation import invalid, today
from models import Booking, Listing, ListingPhoto, ListingReport, ListingSeason, User
from models.listings import ReportStatus
from stayflow.audit import Actor, record_admin_action
from stayflow.image_pool import DecoderBusy, photo_decoder
from stayflow.images import ImageRejected
from stayflow.rules import listing_status
from stayflow.rules.amenities import unknown_amenities
from stayflow.rules.booking_status import BookingStatus
from stayflow.rules.cities import city_key, city_name
from stayflow.rules.listing_checks import ListingFacts, moderation_problems
from stayflow.rules.listing_edits import material_changes
from stayflow.rules.listing_status import ListingStatus
from stayflow.rules.pricing import PricingRules, pricing_rule_problems
from stayflow.rules.roles import Role
from stayflow.rules.stays import zone
from stayflow.settings import Settings
from stayflow.storage import MediaStorage
from stayflow.temporal import TemporalGateway
from stayflow.time_zones import zone_of_coordinates
from workflows.listing_approval import Decision, ListingApprovalWorkflow, ModerationRequest, approval_workflow_id

S_REVIEW = ListingStatus.pending_review.value

# --- reading -------------------------------------------------------------------------------------


async def listing_read(
    listing: Listing, storage: MediaStorage, *, for_owner: bool, exact_location: bool | None = None
) -> ListingRead:
    return (await listing_reads([listing], storage, for_owner=for_owner, exact_location=exact_location))[0]


async def listing_read_by_id(listing_id: UUID, storage: MediaStorage, *, for_owner: bool) -> ListingRead:
    listing = await Listing.objects().get(Listing.id == listing_id)
    assert listing is not None
    return await listing_read(listing, storage, for_owner=for_owner)


async def listing_reads(
    listings: list[Listing], storage: MediaStorage, *, for_owner: bool, exact_location: bool | None = None
) -> list[ListingRead]:
    """A page of listings with their photos, seasons and hosts: three queries, whatever the page size."""
    if not listings:
        return []
    ids = [listing.id for listing in listings]
    photos: dict[UUID, list[dict[str, Any]]] = {i: [] for i in ids}
    for photo in await ListingPhoto.select().where(ListingPhoto.listing.is_in(ids)).order_by(ListingPhoto.position):
        photos[photo["listing"]].append(photo)
    seasons: dict[UUID, list[SeasonRange]] = {i: [] for i in ids}
    for row in (
        await ListingSeason.select()
        .where(ListingSeason.listing.is_in(ids) & (ListingSeason.end_date > today()))
        .order_by(ListingSeason.start_date)
    ):
        seasons[row["listing"]].append(SeasonRange(row["start_date"], row["end_date"], row["min_nights"]))
    hosts = {u.id: u for u in await User.objects().where(User.id.is_in(list({x.host for x in listings})))}
    return [
        listing_read_of(x, photos[x.id], hosts.get(x.host), storage, for_owner, exact_location, seasons[x.id])
        for x in listings
    ]


def is_owner(listing: Listing, user: CurrentUser | None) -> bool:
    """The listing's host or an admin: they see its moderation notes."""
    return user is not None and (user.id == listing.host or user.role == Role.admin)


async def load_own_listing(listing_id: UUID, user: CurrentUser) -> Listing:
    """The caller's own listing (admins may act on any); anyone else's is 404."""
    listing = await Listing.objects().get(Listing.id == listing_id)
    if listing is None or (listing.host != user.id and user.role != Role.admin):
        raise Problem(404, "No such listing.")
    return listing


async def load_visible_listing(listing_id: UUID, user: CurrentUser | None) -> Listing:
    """Published listings of hosts in good standing for everyone; others only for their host and admins."""
    listing = await Listing.objects().get(Listing.id == listing_id)
    if listing is None:
        raise Problem(404, "No such listing.")
    if not is_owner(listing, user) and not await is_public(listing):
        raise Problem(404, "No such listing.")
    return listing


async def is_public(listing: Listing) -> bool:
    """Published, and its host not suspended (a suspension takes the host's listings down with it)."""
    if listing.status != ListingStatus.published:
        return False
    return not await User.exists().where((User.id == listing.host) & User.suspended_at.is_not_null())


async def load_bookable_listing(listing_id: UUID, user: CurrentUser) -> Listing:
    """A listing `user` may book now: public (an admin sees more, but books only what anyone may)."""
    listing = await load_visible_listing(listing_id, user)
    if not await is_public(listing):
        raise Problem(409, "This listing is not taking bookings.", slug="listing-not-bookable")
    return listing


async def sees_exact_location(listing: Listing, user: CurrentUser | None) -> bool:
    """The host, admins, and guests with a confirmed (or completed) stay at the listing."""
    if user is None:
        return False
    if is_owner(listing, user):
        return True
    return await Booking.exists().where(
        (Booking.listing == listing.id)
        & (Booking.guest == user.id)
        & Booking.status.is_in([BookingStatus.confirmed, BookingStatus.completed])
    )


async def listings_of_host(
    host_id: UUID, storage: MediaStorage, *, status: ListingStatus | None, limit: int, cursor: str | None
) -> Page[ListingRead]:
    query = Listing.objects().where(Listing.host == host_id)
    if status is not None:
        query = query.where(Listing.status == status)
    rows, next_cursor = await keyset(
        query, time_column=Listing.created_at, id_column=Listing.id, limit=limit, cursor=cursor
    )
    return Page(items=await listing_reads(rows, storage, for_owner=True), next_cursor=next_cursor)


# --- a host's listing ----------------------------------------------------------------------------

PRICING_FIELDS = (
    "weekly_discount_percent",
    "monthly_discount_percent",
    "weekend_price",
    "guests_included",
    "extra_guest_fee",
)
"""The listing's columns that are `PricingRules`."""


def _check_fields(values: dict[str, Any]) -> None:
    """Cross-field rules msgspec cannot express; each failure names its field."""
    problems: list[tuple[str, str]] = []
    if "amenities" in values and (unknown := unknown_amenities(values["amenities"])):
        problems.append(("amenities", f"unknown: {', '.join(unknown)} (see GET /api/v1/amenities)"))
    if "country" in values and values["country"] not in phonenumbers.SUPPORTED_REGIONS:
        problems.append(("country", "is not an ISO 3166-1 alpha-2 country code"))
    if values.get("min_nights", 1) > values.get("max_nights", 365):
        problems.append(("min_nights", "must not be more than max_nights"))
    if "max_guests" in values and all(f in values for f in PRICING_FIELDS):
        rules = PricingRules(**{f: values[f] for f in PRICING_FIELDS})
        problems += pricing_rule_problems(rules, max_guests=values["max_guests"])
    if isinstance(values.get("time_zone"), str):
        try:
            zone(values["time_zone"])
        except ValueError:
            problems.append(("time_zone", "is not an IANA time zone (e.g. Europe/Berlin)"))
    if problems:
        raise Problem(422, "; ".join(f"{f}: {m}" for f, m in problems), errors=field_errors(*problems))


def _not_ready(prefix: str, problems: list[str]) -> Problem:
    return Problem(
        422,
        prefix + "; ".join(problems),
        slug="not-ready-for-review",
        errors=[{"field": "listing", "message": p} for p in problems],
    )


async def create_listing(host: CurrentUser, data: ListingCreate) -> Listing:
    """A draft, for the host to complete and submit."""
    values = msgspec.structs.asdict(data)
    _check_fields(values)
    if values["time_zone"] is msgspec.UNSET:
        values["time_zone"] = zone_of_coordinates(data.latitude, data.longitude)
    listing = Listing(**values, host=host.id, city_key=city_key(data.city), status=ListingStatus.draft)
    listing.city = city_name(data.city)
    listing.amenities = sorted(set(data.amenities))
    await listing.save()
    return listing


async def update_listing(
    listing_id: UUID,
    user: CurrentUser,
    data: ListingUpdate,
    temporal: TemporalGateway,
    settings: Settings,
    *,
    actor: Actor,
) -> Listing:
    """Edits of a published listing go live at once, except material ones (title, description,
    type, location, a large price change: `stayflow.rules.listing_edits`), which take the listing
    down to `pending_review` until an admin approves it again."""
    listing = await load_own_listing(listing_id, user)
    if listing.status not in listing_status.EDITABLE:
        raise Problem(409, f"A listing that is {listing.status} cannot be edited.", slug="illegal-transition")
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    current = {f: getattr(listing, f) for f in ("min_nights", "max_nights", "max_guests", *PRICING_FIELDS)}
    _check_fields(current | changes)
    if "city" in changes:
        changes["city"] = city_name(changes["city"])
        changes["city_key"] = city_key(changes["city"])
    if "amenities" in changes:
        changes["amenities"] = sorted(set(changes["amenities"]))
    if "time_zone" not in changes and ("latitude" in changes or "longitude" in changes):
        # A home that moves takes its new place's zone, unless the host says which.
        changes["time_zone"] = zone_of_coordinates(
            changes.get("latitude", listing.latitude), changes.get("longitude", listing.longitude)
        )
    published = listing.status == ListingStatus.published
    material = material_changes(listing.to_dict(), changes) if published else []
    if published:
        # A live listing must stay fit for moderation: no bait prices, no emptied description.
        photos = await ListingPhoto.count().where(ListingPhoto.listing == listing.id)
        facts = ListingFacts.of(Listing(**(listing.to_dict() | changes)), photos)
        if problems := moderation_problems(facts):
            raise _not_ready("A published listing must stay ready for review: ", problems)
    before = {k: _audited(getattr(listing, k)) for k in changes if hasattr(listing, k)}
    changes["updated_at"] = dt.datetime.now(dt.UTC)
    condition = (Listing.id == listing.id) & Listing.status.is_in(list(listing_status.EDITABLE))
    if material:
        # The classic bait and switch: back to moderation, in the same statement as the edit, and
        # the edit is undone if moderation cannot start.
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
        if "max_nights" in changes:  # the row is locked by the update: no season is replaced meanwhile
            await _seasons_fit(listing.id, changes["max_nights"])
        await audit_if_admin(
            user, actor, listing, "listing.update", before=before,
            after={k: _audited(v) for k, v in changes.items() if k in before or k == "status"},
        )  # fmt: skip
        if material:
            await start_moderation(temporal, settings, listing, user.full_name)
    fresh = await Listing.objects().get(Listing.id == listing.id)
    assert fresh is not None
    return fresh


async def _seasons_fit(listing_id: UUID, max_nights: int) -> None:
    """422 when a current or future season of the listing needs more nights than `max_nights`."""
    longest = (
        await ListingSeason.select(ListingSeason.min_nights)
        .where((ListingSeason.listing == listing_id) & (ListingSeason.end_date > today()))
        .order_by(ListingSeason.min_nights, ascending=False)
        .first()
    )
    if longest is not None and longest["min_nights"] > max_nights:
        raise invalid(
            "max_nights",
            f"a season needs at least {longest['min_nights']} nights; change the seasons "
            "(PUT /api/v1/listings/{id}/seasons) first",
        )


def _audited(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | list | None) else str(value)


async def audit_if_admin(
    user: CurrentUser,
    actor: Actor,
    listing: Listing,
    action: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """An admin acting on another's listing through the host's routes is audited like any admin
    action, in the write's own transaction."""
    if user.role == Role.admin and listing.host != user.id:
        await record_admin_action(actor, action, "listing", listing.id, before=before, after=after)


async def archive_listing(listing_id: UUID, user: CurrentUser, *, actor: Actor) -> None:
    """Archived listings leave search for good; their bookings and history stay."""
    listing = await load_own_listing(listing_id, user)
    async with Listing._meta.db.transaction():
        moved = (
            await Listing.update({Listing.status: ListingStatus.archived, Listing.updated_at: dt.datetime.now(dt.UTC)})
            .where((Listing.id == listing.id) & Listing.status.is_in(list(listing_status.TRANSITIONS["archive"])))
            .returning(Listing.id)
        )
        if not moved:
            raise Problem(409, f"A listing that is {listing.status} cannot be archived.", slug="illegal-transition")
        await audit_if_admin(
            user, actor, listing, "listing.archive", before={"status": listing.status}, after={"status": "archived"}
        )


async def submit_listing(
    listing_id: UUID, user: CurrentUser, temporal: TemporalGateway, settings: Settings, *, actor: Actor
) -> str:
    """Runs the automatic checks now (422 with the reasons), then starts the listing's
    ListingApprovalWorkflow, which holds it in `pending_review` for an admin. Returns the run's id."""
    listing = await load_own_listing(listing_id, user)
    if not listing_status.allowed("submit", listing.status):
        raise Problem(409, f"A listing that is {listing.status} cannot be submitted.", slug="illegal-transition")
    photos = await ListingPhoto.count().where(ListingPhoto.listing == listing.id)
    if problems := moderation_problems(ListingFacts.of(listing, photos)):
        raise _not_ready("Not ready for review: ", problems)
    await ensure_host_can_publish(listing.host, settings)
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
        await audit_if_admin(
            user,
            actor,
            listing,
            "listing.submit",
            before={"status": listing.status},
            after={"status": "pending_review"},
        )
        return await start_moderation(temporal, settings, listing, user.full_name)


async def start_moderation(temporal: TemporalGateway, settings: Settings, listing: Listing, host_name: str) -> str:
    """Start this listing's ListingApprovalWorkflow (one at a time; a new run after a closed one)."""
    workflow_id = approval_workflow_id(listing.id)
    client = await temporal.client()
    try:
        await client.start_workflow(
            ListingApprovalWorkflow.run,
            ModerationRequest(listing_id=str(listing.id), host_id=str(listing.host)),
            id=workflow_id,
            task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            static_summary=f"Moderation of “{listing.title}” by {host_name}",
        )
    except WorkflowAlreadyStartedError as exc:
        raise Problem(409, "This listing is already being reviewed.", slug="illegal-transition") from exc
    return workflow_id


# --- moderation by admins ------------------------------------------------------------------------


async def moderation_queue(
    status: ListingStatus, storage: MediaStorage, *, limit: int, cursor: str | None
) -> Page[ListingRead]:
    """Listings in one status, the longest-waiting first."""
    rows, next_cursor = await keyset(
        Listing.objects().where(Listing.status == status),
        time_column=Listing.updated_at,
        id_column=Listing.id,
        limit=limit,
        cursor=cursor,
    )
    return Page(items=await listing_reads(rows, storage, for_owner=True), next_cursor=next_cursor)


async def decide_moderation(
    temporal: TemporalGateway, settings: Settings, listing_id: UUID, decision: Decision
) -> None:
    """Hand an admin's approval or rejection to the listing's running ListingApprovalWorkflow. An
    approval is refused (409, the listing stays waiting) while its host cannot be paid and the
    platform requires it."""
    listing = await Listing.objects().get(Listing.id == listing_id)
    if listing is None:
        raise Problem(404, "No such listing.")
    if listing.status != ListingStatus.pending_review:
        raise Problem(409, f"A listing that is {listing.status} is not waiting for review.", slug="illegal-transition")
    if decision.approve:
        await ensure_host_can_publish(listing.host, settings)
    client = await temporal.client()
    handle = client.get_workflow_handle(approval_workflow_id(listing_id))
    try:
        outcome = await handle.execute_update(
            ListingApprovalWorkflow.decide, decision, rpc_timeout=timedelta(seconds=20)
        )
    except WorkflowUpdateFailedError as exc:  # the workflow's validator refused
        raise Problem(409, str(exc.cause or exc), slug="illegal-transition") from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise Problem(
            503,
            "The decision is still being applied; check the listing in a moment.",
            slug="unavailable",
            headers={"Retry-After": "10"},
        ) from exc
    except RPCError as exc:  # no running moderation for this listing
        raise Problem(409, "This listing has no review waiting for a decision.", slug="illegal-transition") from exc
    # The run ends right after applying the decision; answer once it has, so that the host can
    # start the next moderation (an edit of the location, a resubmission) straight away.
    await handle.result(rpc_timeout=timedelta(seconds=20))
    if outcome not in ("published", "rejected"):
        raise Problem(
            409, "The listing failed the automatic checks and went back to its host.", slug="illegal-transition"
        )


async def move_listing(actor: Actor, settings: Settings, listing_id: UUID, action: str, reason: str | None) -> None:
    """An admin's suspend or restore, recorded in the audit log in the same transaction. A restore
    publishes again, so it waits (409) for a host who cannot be paid when the platform requires it."""
    async with Listing._meta.db.transaction():
        listing = await Listing.objects().where(Listing.id == listing_id).lock_rows().first()
        if listing is None:
            raise Problem(404, "No such listing.")
        if not listing_status.allowed(action, listing.status):
            raise Problem(409, f"Cannot {action} a listing that is {listing.status}.", slug="illegal-transition")
        if listing_status.TARGET[action] == ListingStatus.published:
            await ensure_host_can_publish(listing.host, settings)
        target = listing_status.TARGET[action]
        await Listing.update(
            {Listing.status: target, Listing.review_notes: reason, Listing.updated_at: dt.datetime.now(dt.UTC)}
        ).where(Listing.id == listing_id)
        await record_admin_action(
            actor,
            f"listing.{action}",
            "listing",
            listing_id,
            before={"status": listing.status},
            after={"status": target},
            reason=reason,
        )


# --- reports -------------------------------------------------------------------------------------


async def report_listing(listing_id: UUID, reporter: CurrentUser, reason: str, details: str) -> ListingReport:
    """One open report per reporter and listing; hosts cannot report their own."""
    listing = await load_visible_listing(listing_id, reporter)
    await count_post(reporter.id, "report")
    if listing.host == reporter.id:
        raise Problem(409, "You cannot report your own listing.")
    open_already = await ListingReport.exists().where(
        (ListingReport.listing == listing.id)
        & (ListingReport.reporter == reporter.id)
        & (ListingReport.status == ReportStatus.open)
    )
    if open_already:
        raise Problem(409, "You already reported this listing; an admin will look at it.", slug="duplicate-report")
    report = ListingReport(listing=listing.id, reporter=reporter.id, reason=reason, details=details.strip())
    await report.save()
    return report


async def reports_in(
    status: ReportStatus, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    return await keyset(
        ListingReport.select().where(ListingReport.status == status),
        time_column=ListingReport.created_at,
        id_column=ListingReport.id,
        limit=limit,
        cursor=cursor,
    )


async def resolve_report(actor: Actor, report_id: UUID, resolution: str) -> dict[str, Any]:
    """Close an open report with the admin's note, audited in the same transaction."""
    async with ListingReport._meta.db.transaction():
        rows = (
            await ListingReport.update(
                {
                    ListingReport.status: ReportStatus.resolved,
                    ListingReport.resolution: resolution,
                    ListingReport.resolved_by: actor.user_id,
                    ListingReport.resolved_at: dt.datetime.now(dt.UTC),
                }
            )
            .where((ListingReport.id == report_id) & (ListingReport.status == ReportStatus.open))
            .returning(*ListingReport.all_columns())
        )
        if not rows:
            exists = await ListingReport.exists().where(ListingReport.id == report_id)
            raise Problem(409 if exists else 404, "This report is already resolved." if exists else "No such report.")
        await record_admin_action(
            actor,
            "report.resolve",
            "report",
            report_id,
            before={"status": ReportStatus.open},
            after={"status": ReportStatus.resolved, "listing_id": str(rows[0]["listing"])},
            reason=resolution,
        )
    return dict(rows[0])


# --- photos --------------------------------------------------------------------------------------

MAX_PHOTOS_PER_LISTING = 50
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


async def _ordered_photos(listing_id: UUID) -> list[ListingPhoto]:
    return await ListingPhoto.objects().where(ListingPhoto.listing == listing_id).order_by(ListingPhoto.position)


async def _renumber(photos: list[ListingPhoto]) -> None:
    for index, photo in enumerate(photos):
        if photo.position != index:
            await ListingPhoto.update({ListingPhoto.position: index}).where(ListingPhoto.id == photo.id)
            photo.position = index


async def _editable_for_photos(listing_id: UUID, user: CurrentUser) -> Listing:
    listing = await load_own_listing(listing_id, user)
    if listing.status not in listing_status.EDITABLE:
        raise Problem(
            409, f"The photos of a listing that is {listing.status} cannot change.", slug="illegal-transition"
        )
    return listing


async def _photos_changed(
    listing: Listing, user: CurrentUser, actor: Actor, action: str, photo_id: UUID, review: PhotoReview | None
) -> None:
    """Inside the photo write's transaction: an admin's write is audited; a published listing
    whose photos were added or removed goes back to review (a material edit)."""
    await audit_if_admin(user, actor, listing, action, after={"photo_id": str(photo_id)})
    if review is None or listing.status != ListingStatus.published:
        return
    taken_down = (
        await Listing.update(
            {Listing.status: ListingStatus.pending_review, Listing.updated_at: dt.datetime.now(dt.UTC)}
        )
        .where((Listing.id == listing.id) & (Listing.status == ListingStatus.published))
        .returning(Listing.id)
    )
    if taken_down:
        await start_moderation(review.temporal, review.settings, listing, user.full_name)


@dataclass(frozen=True)
class PhotoReview:
    """What starting a listing's review again needs (a photo added to or removed from a live listing)."""

    temporal: TemporalGateway
    settings: Settings


async def add_photo(
    listing_id: UUID,
    user: CurrentUser,
    read: Callable[[int], Awaitable[bytes]],
    caption: str,
    storage: MediaStorage,
    *,
    actor: Actor,
    review: PhotoReview | None = None,
) -> ListingPhoto:
    """Checked by content (JPEG, PNG or WebP), stored, then numbered after the others. `read` gives
    the upload's bytes, at most the number asked for; the file is read only once the caller may add it.
    A new photo of a published listing takes it back to review."""
    listing = await _editable_for_photos(listing_id, user)
    if len(caption) > 300:
        raise invalid("caption", "must be at most 300 characters")
    if await ListingPhoto.count().where(ListingPhoto.listing == listing.id) >= MAX_PHOTOS_PER_LISTING:
        # Before reading or decoding anything; checked again, under a lock, when the row is written.
        raise Problem(409, f"A listing has at most {MAX_PHOTOS_PER_LISTING} photos.")
    raw = await read(MAX_UPLOAD_BYTES + 1)
    if len(raw) > MAX_UPLOAD_BYTES:
        raise Problem(413, f"A photo may be at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    try:
        image = await photo_decoder.check(raw)
    except ImageRejected as exc:
        raise invalid("file", str(exc)) from exc
    except DecoderBusy as exc:
        raise Problem(
            503, "Many photos are being checked right now; try again shortly.", headers={"Retry-After": "5"}
        ) from exc
    photo_id = uuid.uuid4()
    key = f"listings/{listing.id}/{photo_id}.{image.extension}"
    await storage.save(key, image.data, image.content_type)
    try:
        async with Listing._meta.db.transaction():
            # Concurrent uploads take positions one after another, and the cap holds.
            await Listing.raw("SELECT id FROM listings WHERE id = {} FOR UPDATE", listing.id)
            count = await ListingPhoto.count().where(ListingPhoto.listing == listing.id)
            if count >= MAX_PHOTOS_PER_LISTING:
                raise Problem(409, f"A listing has at most {MAX_PHOTOS_PER_LISTING} photos.")
            photo = ListingPhoto(id=photo_id, listing=listing.id, storage_key=key, content_type=image.content_type,
                                 width=image.width, height=image.height, size_bytes=len(image.data),
                                 caption=caption.strip(), position=count)  # fmt: skip
            await photo.save()
            await _photos_changed(listing, user, actor, "listing.photo_add", photo_id, review)
    except BaseException:
        await storage.delete(key)  # no orphan file when the row is not written
        raise
    await Listing.update({Listing.updated_at: dt.datetime.now(dt.UTC)}).where(Listing.id == listing.id)
    return photo


async def photos_of(listing_id: UUID, user: CurrentUser | None) -> list[ListingPhoto]:
    listing = await load_visible_listing(listing_id, user)
    return await _ordered_photos(listing.id)


async def update_photo(
    listing_id: UUID,
    photo_id: UUID,
    user: CurrentUser,
    *,
    caption: str | msgspec.UnsetType = msgspec.UNSET,
    position: int | msgspec.UnsetType = msgspec.UNSET,
    actor: Actor,
) -> ListingPhoto:
    """A new caption, or a new place in the order (0 = cover) with the others moving up or down."""
    listing = await _editable_for_photos(listing_id, user)
    photos = await _ordered_photos(listing.id)
    photo = next((p for p in photos if p.id == photo_id), None)
    if photo is None:
        raise Problem(404, "No such photo.")
    async with Listing._meta.db.transaction():
        if not isinstance(caption, msgspec.UnsetType):
            await ListingPhoto.update({ListingPhoto.caption: caption.strip()}).where(ListingPhoto.id == photo.id)
            photo.caption = caption.strip()
        if not isinstance(position, msgspec.UnsetType):
            photos.remove(photo)
            photos.insert(min(position, len(photos)), photo)
            await _renumber(photos)
        await _photos_changed(listing, user, actor, "listing.photo_update", photo.id, None)
    return photo


async def delete_photo(
    listing_id: UUID,
    photo_id: UUID,
    user: CurrentUser,
    storage: MediaStorage,
    *,
    actor: Actor,
    review: PhotoReview | None = None,
) -> None:
    """The file goes too; a published listing keeps at least one photo, and goes back to review."""
    listing = await _editable_for_photos(listing_id, user)
    remaining = await ListingPhoto.count().where(ListingPhoto.listing == listing.id)
    if listing.status == ListingStatus.published and remaining <= 1:
        raise Problem(409, "A published listing keeps at least one photo; upload another first.")
    async with Listing._meta.db.transaction():
        deleted = (
            await ListingPhoto.delete()
            .where((ListingPhoto.id == photo_id) & (ListingPhoto.listing == listing.id))
            .returning(ListingPhoto.storage_key)
        )
        if not deleted:
            raise Problem(404, "No such photo.")
        await _photos_changed(listing, user, actor, "listing.photo_delete", photo_id, review)
    await storage.delete(deleted[0]["storage_key"])
    await _renumber(await _ordered_photos(listing.id))
