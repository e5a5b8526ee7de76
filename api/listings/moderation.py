"""Admin moderation of listings (review queue, decisions, suspension) and user reports (SPEC §5, §9)."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from api.admin.audit import actor_of
from api.errors import Problem
from api.listings.controllers import ListingRead, listing_read, listing_reads, load_visible_listing
from api.notifications.notify import tell_host_of_suspension
from api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, keyset
from api.security import CurrentUser, requires_admin
from models import Listing, ListingReport
from models.listings import ReportStatus
from stayflow.audit import Actor, record_admin_action
from stayflow.rules import listing_status
from stayflow.rules.listing_status import ListingStatus
from stayflow.settings import Settings
from stayflow.storage import MediaStorage
from stayflow.temporal import TemporalGateway
from workflows.listing_approval import Decision, ListingApprovalWorkflow, approval_workflow_id

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


async def _decide(temporal: TemporalGateway, listing_id: UUID, decision: Decision) -> None:
    listing = await Listing.objects().get(Listing.id == listing_id)
    if listing is None:
        raise Problem(404, "No such listing.")
    if listing.status != ListingStatus.pending_review:
        raise Problem(409, f"A listing that is {listing.status} is not waiting for review.", slug="illegal-transition")
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
    except RPCError as exc:  # no running review for this listing
        raise Problem(409, "This listing has no review waiting for a decision.", slug="illegal-transition") from exc
    # The run ends right after applying the decision; answer once it has, so that the host can
    # start the next review (an edit of the location, a resubmission) straight away.
    await handle.result(rpc_timeout=timedelta(seconds=20))
    if outcome not in ("published", "rejected"):
        raise Problem(
            409, "The listing failed the automatic checks and went back to its host.", slug="illegal-transition"
        )


async def _move(actor: Actor, listing_id: UUID, action: str, reason: str | None) -> None:
    async with Listing._meta.db.transaction():
        listing = await Listing.objects().where(Listing.id == listing_id).lock_rows().first()
        if listing is None:
            raise Problem(404, "No such listing.")
        if not listing_status.allowed(action, listing.status):
            raise Problem(409, f"Cannot {action} a listing that is {listing.status}.", slug="illegal-transition")
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


class AdminListingsController(Controller):
    path = "/api/v1/admin/listings"
    tags = ["admin"]
    guards = [requires_admin]

    @get(operation_id="adminListings", summary="Listings by status, oldest first (the review queue)")
    async def queue(
        self,
        storage: NamedDependency[MediaStorage],
        status: FromQuery[ListingStatus] = ListingStatus.pending_review,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[ListingRead]:
        rows, next_cursor = await keyset(
            Listing.objects().where(Listing.status == status),
            time_column=Listing.updated_at,
            id_column=Listing.id,
            limit=limit,
            cursor=cursor,
        )
        return Page(items=await listing_reads(rows, storage, for_owner=True), next_cursor=next_cursor)

    @post(
        "/{listing_id:uuid}/approve",
        operation_id="adminApproveListing",
        summary="Publish a listing under review",
        status_code=200,
    )
    async def approve(
        self,
        request: Request[CurrentUser, Any, Any],
        listing_id: FromPath[UUID],
        temporal: NamedDependency[TemporalGateway],
        storage: NamedDependency[MediaStorage],
    ) -> ListingRead:
        await _decide(temporal, listing_id, Decision(approve=True, admin_id=str(request.user.id)))
        return await self._read(listing_id, storage)

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
    ) -> ListingRead:
        await _decide(temporal, listing_id, Decision(approve=False, admin_id=str(request.user.id), reason=data.reason))
        return await self._read(listing_id, storage)

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
        await _move(actor_of(request), listing_id, "suspend", data.reason)
        await tell_host_of_suspension(temporal, settings, listing_id, data.reason)
        return await self._read(listing_id, storage)

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
    ) -> ListingRead:
        await _move(actor_of(request), listing_id, "restore", None)
        return await self._read(listing_id, storage)

    @staticmethod
    async def _read(listing_id: UUID, storage: MediaStorage) -> ListingRead:
        listing = await Listing.objects().get(Listing.id == listing_id)
        assert listing is not None
        return await listing_read(listing, storage, for_owner=True)


class ReportsController(Controller):
    path = "/api/v1/listings/{listing_id:uuid}/reports"
    tags = ["listings"]

    @post(operation_id="reportListing", summary="Report a listing to the admins")
    async def create(
        self, request: Request[CurrentUser, Any, Any], listing_id: FromPath[UUID], data: JSONBody[ReportCreate]
    ) -> ReportRead:
        listing = await load_visible_listing(listing_id, request.user)
        if listing.host == request.user.id:
            raise Problem(409, "You cannot report your own listing.")
        open_already = await ListingReport.exists().where(
            (ListingReport.listing == listing.id)
            & (ListingReport.reporter == request.user.id)
            & (ListingReport.status == ReportStatus.open)
        )
        if open_already:
            raise Problem(409, "You already reported this listing; an admin will look at it.", slug="duplicate-report")
        report = ListingReport(
            listing=listing.id, reporter=request.user.id, reason=data.reason, details=data.details.strip()
        )
        await report.save()
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
        rows, next_cursor = await keyset(
            ListingReport.select().where(ListingReport.status == status),
            time_column=ListingReport.created_at,
            id_column=ListingReport.id,
            limit=limit,
            cursor=cursor,
        )
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
        async with ListingReport._meta.db.transaction():
            rows = (
                await ListingReport.update(
                    {
                        ListingReport.status: ReportStatus.resolved,
                        ListingReport.resolution: data.resolution,
                        ListingReport.resolved_by: request.user.id,
                        ListingReport.resolved_at: dt.datetime.now(dt.UTC),
                    }
                )
                .where((ListingReport.id == report_id) & (ListingReport.status == ReportStatus.open))
                .returning(*ListingReport.all_columns())
            )
            if not rows:
                exists = await ListingReport.exists().where(ListingReport.id == report_id)
                raise Problem(
                    409 if exists else 404, "This report is already resolved." if exists else "No such report."
                )
            await record_admin_action(
                actor_of(request),
                "report.resolve",
                "report",
                report_id,
                before={"status": ReportStatus.open},
                after={"status": ReportStatus.resolved, "listing_id": str(rows[0]["listing"])},
                reason=data.resolution,
            )
        return report_read(rows[0])
