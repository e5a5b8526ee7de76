"""The booking endpoints (SPEC §6, §9): each parses, authorizes, calls one function of
`service.py`, `changes.py` or `reads.py`, and shapes the answer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from api.admin.audit import actor_of
from api.bookings.changes import change_booking
from api.bookings.reads import (
    booking_changes,
    booking_documents,
    booking_for_admin,
    booking_invoice_pdf,
    booking_read,
    booking_timeline,
    load_booking_for,
    page_of_bookings,
)
from api.bookings.schemas import (
    OPEN_CHANGE,
    AdminBookingRead,
    BookingChangeBody,
    BookingCreate,
    BookingRead,
    CancelAnswer,
    CancelBody,
    ChangeAnswer,
    ChangeRead,
    IdempotencyKey,
    InvoiceRead,
    TimelineRead,
)
from api.bookings.service import cancel_booking, create_booking, decide_booking
from api.errors import Problem, field_errors
from api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from api.security import CurrentUser, requires_admin
from stayflow.rules.booking_status import BookingStatus
from stayflow.rules.roles import Role
from stayflow.settings import Settings
from stayflow.temporal import TemporalGateway


class BookingsController(Controller):
    path = "/api/v1/bookings"
    tags = ["bookings"]

    @post(operation_id="createBooking", summary="Book a stay")
    async def create(
        self,
        request: Request[CurrentUser, Any, Any],
        data: JSONBody[BookingCreate],
        idempotency_key: IdempotencyKey,
        settings: NamedDependency[Settings],
        temporal: NamedDependency[TemporalGateway],
    ) -> Response[BookingRead]:
        """Records the booking holding its nights and starts its process: `201 pending_payment`.
        Everything with money happens in the workflow's activities."""
        booking = await create_booking(request.user, data, idempotency_key, settings, temporal)
        return Response(booking, status_code=201)

    @get(operation_id="myBookings", summary="My bookings as a guest, newest first")
    async def mine(
        self,
        request: Request[CurrentUser, Any, Any],
        status: FromQuery[BookingStatus | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[BookingRead]:
        return await page_of_bookings(
            guest_id=request.user.id, status=status, limit=limit, cursor=cursor, viewer=request.user.id
        )

    @get("/{booking_id:uuid}", operation_id="getBooking", summary="One booking (its guest, host or an admin)")
    async def read(self, request: Request[CurrentUser, Any, Any], booking_id: FromPath[UUID]) -> BookingRead:
        user = request.user
        return await booking_read(
            await load_booking_for(booking_id, user), viewer=user.id, admin=user.role == Role.admin
        )

    @post("/{booking_id:uuid}/accept", operation_id="acceptBooking", summary="Host: accept a request", status_code=200)
    async def accept(
        self,
        request: Request[CurrentUser, Any, Any],
        booking_id: FromPath[UUID],
        temporal: NamedDependency[TemporalGateway],
    ) -> BookingRead:
        """Captures the payment, issues invoice and receipt; answers when the booking is confirmed.
        On a confirmed booking with a change awaiting the host: applies the change."""
        return await decide_booking(request.user, booking_id, True, temporal)

    @post(
        "/{booking_id:uuid}/decline", operation_id="declineBooking", summary="Host: decline a request", status_code=200
    )
    async def decline(
        self,
        request: Request[CurrentUser, Any, Any],
        booking_id: FromPath[UUID],
        temporal: NamedDependency[TemporalGateway],
    ) -> BookingRead:
        """Releases the hold on the guest's card (or refuses the guest's change: the booking stays as it is)."""
        return await decide_booking(request.user, booking_id, False, temporal)

    @post(
        "/{booking_id:uuid}/cancel",
        operation_id="cancelBooking",
        summary="Cancel (guest, host or admin)",
        status_code=202,
    )
    async def cancel(
        self,
        request: Request[CurrentUser, Any, Any],
        booking_id: FromPath[UUID],
        data: JSONBody[CancelBody],
        idempotency_key: IdempotencyKey,
        temporal: NamedDependency[TemporalGateway],
    ) -> CancelAnswer:
        """Answers with what will be refunded; the money then moves in the CancellationRefundWorkflow."""
        return await cancel_booking(
            request.user, booking_id, data.reason, idempotency_key, temporal, actor=actor_of(request)
        )

    @patch("/{booking_id:uuid}", operation_id="changeBooking", summary="Guest: change the dates or guests")
    async def change(
        self,
        request: Request[CurrentUser, Any, Any],
        booking_id: FromPath[UUID],
        data: JSONBody[BookingChangeBody],
        idempotency_key: IdempotencyKey,
        temporal: NamedDependency[TemporalGateway],
    ) -> Response[ChangeAnswer]:
        """200 with the changed booking; 202 while a request-to-book listing's host decides."""
        answer = await change_booking(request.user, booking_id, data, idempotency_key, temporal)
        return Response(answer, status_code=202 if answer.change.status in OPEN_CHANGE else 200)

    @get("/{booking_id:uuid}/changes", operation_id="bookingChanges", summary="Every change asked of a booking")
    async def changes(
        self,
        request: Request[CurrentUser, Any, Any],
        booking_id: FromPath[UUID],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[ChangeRead]:
        """Oldest first (by `number`)."""
        booking = await load_booking_for(booking_id, request.user)
        return await booking_changes(booking, limit=limit, cursor=cursor)

    @get("/{booking_id:uuid}/timeline", operation_id="bookingTimeline", summary="Each step of the booking's process")
    async def timeline(
        self,
        request: Request[CurrentUser, Any, Any],
        booking_id: FromPath[UUID],
        temporal: NamedDependency[TemporalGateway],
    ) -> TimelineRead:
        return await booking_timeline(temporal, await load_booking_for(booking_id, request.user))

    @get("/{booking_id:uuid}/invoice", operation_id="bookingInvoice", summary="Invoice, receipt and credit notes")
    async def invoice(self, request: Request[CurrentUser, Any, Any], booking_id: FromPath[UUID]) -> InvoiceRead:
        return await booking_documents(await load_booking_for(booking_id, request.user), request.user.id)

    @get(
        "/{booking_id:uuid}/invoice.pdf",
        operation_id="bookingInvoicePdf",
        summary="The invoice as PDF",
        media_type="application/pdf",
    )
    async def invoice_pdf(self, request: Request[CurrentUser, Any, Any], booking_id: FromPath[UUID]) -> Response[bytes]:
        booking = await load_booking_for(booking_id, request.user)
        number, pdf = await booking_invoice_pdf(booking, request.user.id)
        return Response(
            pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{number}.pdf"'}
        )


class HostBookingsController(Controller):
    path = "/api/v1/host/bookings"
    tags = ["bookings"]

    @get(operation_id="hostBookings", summary="Bookings of my listings, newest first")
    async def of_my_listings(
        self,
        request: Request[CurrentUser, Any, Any],
        status: FromQuery[BookingStatus | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[BookingRead]:
        return await page_of_bookings(
            host_id=request.user.id, status=status, limit=limit, cursor=cursor, viewer=request.user.id
        )


class AdminBookingsController(Controller):
    """Admin: find bookings, look into one, cancel one with a full refund (SPEC §9)."""

    path = "/api/v1/admin/bookings"
    tags = ["admin"]
    guards = [requires_admin]

    @get(operation_id="adminSearchBookings", summary="Bookings by status, listing, guest, host and dates, newest first")
    async def search(
        self,
        request: Request[CurrentUser, Any, Any],
        status: FromQuery[BookingStatus | None] = None,
        listing_id: FromQuery[UUID | None] = None,
        guest_id: FromQuery[UUID | None] = None,
        host_id: FromQuery[UUID | None] = None,
        from_: Annotated[
            dt.date | None, QueryParameter(name="from", description="stays with a night on or after")
        ] = None,
        to: Annotated[dt.date | None, QueryParameter(description="stays with a night before")] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[BookingRead]:
        if from_ is not None and to is not None and from_ >= to:
            raise Problem(422, "`from` must be before `to`.", errors=field_errors(("from", "must be before `to`")))
        return await page_of_bookings(
            viewer=request.user.id,
            status=status,
            listing_id=listing_id,
            guest_id=guest_id,
            host_id=host_id,
            nights_from=from_,
            nights_to=to,
            limit=limit,
            cursor=cursor,
            admin=True,
        )

    @get("/{booking_id:uuid}", operation_id="adminGetBooking", summary="One booking with its money movements")
    async def read(self, request: Request[CurrentUser, Any, Any], booking_id: FromPath[UUID]) -> AdminBookingRead:
        return await booking_for_admin(booking_id, request.user.id)

    @post(
        "/{booking_id:uuid}/cancel",
        operation_id="adminCancelBooking",
        summary="Cancel with a full refund, with a reason",
        status_code=202,
    )
    async def cancel(
        self,
        request: Request[CurrentUser, Any, Any],
        booking_id: FromPath[UUID],
        data: JSONBody[CancelBody],
        idempotency_key: IdempotencyKey,
        temporal: NamedDependency[TemporalGateway],
    ) -> CancelAnswer:
        """The guests' and hosts' cancellation path, as the platform: everything paid goes back
        (a hold not yet captured is released). Audited with the reason."""
        return await cancel_booking(
            request.user, booking_id, data.reason, idempotency_key, temporal, actor=actor_of(request), as_admin=True
        )
