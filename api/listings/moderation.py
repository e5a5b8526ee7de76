"""Admin moderation of listings (the moderation queue, decisions, suspension) and user reports (SPEC §5, §9)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from api.admin.audit import actor_of
from api.listings import service
from api.listings.schemas import ListingRead
from api.notifications.notify import tell_host_of_suspension
from api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from api.security import CurrentUser, requires_admin
from models import ListingReport
from models.listings import ReportStatus
from stayflow.rules.listing_status import ListingStatus
from stayflow.settings import Settings
from stayflow.storage import MediaStorage
from stayflow.temporal import TemporalGateway
from workflows.listing_approval import Decision

Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
ReportReason = Literal["inaccurate", "scam", "offensive", "safety", "discrimination", "other"]


class Rejection(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


class SuspensionNote(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


class ReportCreate(msgspec.Struct, forbid_unknown_fields=True):
    reason: ReportReason
    details: Annotated[str, msgspec.Meta(max_length=4000)] = ""


class ReportResolution(msgspec.Struct, forbid_unknown_fields=True):
    resolution: Reason


class ReportRead(msgspec.Struct):
    id: UUID
    listing_id: UUID
    reporter_id: UUID
    reason: str
    details: str
    status: ReportStatus
    resolution: str | None
    created_at: dt.datetime
    resolved_at: dt.datetime | None


def report_read(row: ListingReport | dict[str, Any]) -> ReportRead:
    r = row if isinstance(row, dict) else row.to_dict()
    return ReportRead(
        id=r["id"],
        listing_id=r["listing"],
        reporter_id=r["reporter"],
        reason=r["reason"],
        details=r["details"],
        status=ReportStatus(r["status"]),
        resolution=r["resolution"],
        created_at=r["created_at"],
        resolved_at=r["resolved_at"],
    )


class AdminListingsController(Controller):
    path = "/api/v1/admin/listings"
    tags = ["admin"]
    guards = [requires_admin]

    @get(operation_id="adminListings", summary="Listings by status, oldest first (the moderation queue)")
    async def queue(
        self,
        storage: NamedDependency[MediaStorage],
        status: FromQuery[ListingStatus] = ListingStatus.pending_review,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[ListingRead]:
        return await service.moderation_queue(status, storage, limit=limit, cursor=cursor)

    @post(
        "/{listing_id:uuid}/approve",
        operation_id="adminApproveListing",
        summary="Publish a listing awaiting moderation",
        status_code=200,
    )
    async def approve(
        self,
        request: Request[CurrentUser, Any, Any],
        listing_id: FromPath[UUID],
        temporal: NamedDependency[TemporalGateway],
        storage: NamedDependency[MediaStorage],
        settings: NamedDependency[Settings],
    ) -> ListingRead:
        """409 `payouts-not-enabled` while the host cannot be paid and the platform requires it."""
        await service.decide_moderation(
            temporal, settings, listing_id, Decision(approve=True, admin_id=str(request.user.id))
        )
        return await service.listing_read_by_id(listing_id, storage, for_owner=True)

    @post(
        "/{listing_id:uuid}/reject", operation_id="adminRejectListing", summary="Reject with a reason", status_code=200
    )
    async def reject(
        self,
        request: Request[CurrentUser, Any, Any],
        listing_id: FromPath[UUID],
        data: JSONBody[Rejection],
        temporal: NamedDependency[TemporalGateway],
        storage: NamedDependency[MediaStorage],
        settings: NamedDependency[Settings],
    ) -> ListingRead:
        await service.decide_moderation(
            temporal, settings, listing_id, Decision(approve=False, admin_id=str(request.user.id), reason=data.reason)
        )
        return await service.listing_read_by_id(listing_id, storage, for_owner=True)

    @post(
        "/{listing_id:uuid}/suspend",
        operation_id="adminSuspendListing",
        summary="Take a published listing down",
        status_code=200,
    )
    async def suspend(
        self,
        request: Request[CurrentUser, Any, Any],
        listing_id: FromPath[UUID],
        data: JSONBody[SuspensionNote],
        storage: NamedDependency[MediaStorage],
        temporal: NamedDependency[TemporalGateway],
        settings: NamedDependency[Settings],
    ) -> ListingRead:
        await service.move_listing(actor_of(request), settings, listing_id, "suspend", data.reason)
        await tell_host_of_suspension(temporal, settings, listing_id, data.reason)
        return await service.listing_read_by_id(listing_id, storage, for_owner=True)

    @post(
        "/{listing_id:uuid}/restore",
        operation_id="adminRestoreListing",
        summary="Publish a suspended listing again",
        status_code=200,
    )
    async def restore(
        self,
        request: Request[CurrentUser, Any, Any],
        listing_id: FromPath[UUID],
        storage: NamedDependency[MediaStorage],
        settings: NamedDependency[Settings],
    ) -> ListingRead:
        """409 `payouts-not-enabled` while the host cannot be paid and the platform requires it."""
        await service.move_listing(actor_of(request), settings, listing_id, "restore", None)
        return await service.listing_read_by_id(listing_id, storage, for_owner=True)


class ReportsController(Controller):
    path = "/api/v1/listings/{listing_id:uuid}/reports"
    tags = ["listings"]

    @post(operation_id="reportListing", summary="Report a listing to the admins")
    async def create(
        self, request: Request[CurrentUser, Any, Any], listing_id: FromPath[UUID], data: JSONBody[ReportCreate]
    ) -> ReportRead:
        report = await service.report_listing(listing_id, request.user, data.reason, data.details)
        return report_read(report)


class AdminReportsController(Controller):
    path = "/api/v1/admin/reports"
    tags = ["admin"]
    guards = [requires_admin]

    @get(operation_id="adminReports", summary="Reports, oldest first")
    async def list_reports(
        self,
        status: FromQuery[ReportStatus] = ReportStatus.open,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[ReportRead]:
        rows, next_cursor = await service.reports_in(status, limit=limit, cursor=cursor)
        return Page(items=[report_read(r) for r in rows], next_cursor=next_cursor)

    @post(
        "/{report_id:uuid}/resolve",
        operation_id="adminResolveReport",
        summary="Close a report with a note",
        status_code=200,
    )
    async def resolve(
        self, request: Request[CurrentUser, Any, Any], report_id: FromPath[UUID], data: JSONBody[ReportResolution]
    ) -> ReportRead:
        return report_read(await service.resolve_report(actor_of(request), report_id, data.resolution))
