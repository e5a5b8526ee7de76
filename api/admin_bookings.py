"""Admin: find bookings, look into one, cancel one with a full refund (SPEC §9)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from api.admin.audit import actor_of
from api.booking_reads import BookingRead, IdempotencyKey, booking_read, booking_reads
from api.bookings import CancelAnswer, CancelBody, cancel_booking
from api.errors import Problem, field_errors
from api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, keyset
from api.security import CurrentUser, requires_admin
from models import Booking, LedgerEntry
from stayflow.rules.booking_status import BookingStatus
from stayflow.temporal import TemporalGateway


class LedgerLine(msgspec.Struct):
    kind: str
    amount: int
    currency: str
    provider_ref: str
    created_at: dt.datetime


class AdminBookingRead(msgspec.Struct):
    booking: BookingRead
    cancelled_by: str | None
    refund_amount: int | None
    review_window_days: int | None
    ledger: list[LedgerLine]
    """Every movement of the booking's money, oldest first."""


class AdminBookingsController(Controller):
    path = "/api/v1/admin/bookings"
    tags = ["admin"]
    guards = [requires_admin]

    @get(operation_id="adminSearchBookings", summary="Bookings by status, listing, guest, host and dates, newest first")
    async def search(
        self,
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
        query = Booking.objects()
        if status is not None:
            query = query.where(Booking.status == status)
        if listing_id is not None:
            query = query.where(Booking.listing == listing_id)
        if guest_id is not None:
            query = query.where(Booking.guest == guest_id)
        if host_id is not None:
            query = query.where(Booking.host == host_id)
        if from_ is not None:
            query = query.where(Booking.check_out > from_)
        if to is not None:
            query = query.where(Booking.check_in < to)
        rows, next_cursor = await keyset(
            query, time_column=Booking.created_at, id_column=Booking.id, limit=limit, cursor=cursor, newest_first=True
        )
        return Page(items=await booking_reads(rows), next_cursor=next_cursor)

    @get("/{booking_id:uuid}", operation_id="adminGetBooking", summary="One booking with its money movements")
    async def read(self, booking_id: FromPath[UUID]) -> AdminBookingRead:
        booking = await Booking.objects().get(Booking.id == booking_id)
        if booking is None:
            raise Problem(404, "No such booking.")
        ledger = await LedgerEntry.objects().where(LedgerEntry.booking == booking.id).order_by(LedgerEntry.created_at)
        return AdminBookingRead(
            booking=await booking_read(booking),
            cancelled_by=booking.cancelled_by,
            refund_amount=booking.refund_amount,
            review_window_days=booking.review_window_days,
            ledger=[
                LedgerLine(
                    kind=e.kind,
                    amount=e.amount,
                    currency=e.currency,
                    provider_ref=e.provider_ref,
                    created_at=e.created_at,
                )
                for e in ledger
            ],
        )

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
