"""Bookings: request a stay, follow it, and (hosts) decide on requests (SPEC §6).

The API validates and prices the stay (the same `priced_stay` as quotes), records the booking
holding its nights (PostgreSQL's exclusion constraint refuses a second holder: 409), starts
the BookingWorkflow and answers `201 pending_payment`. Everything with money happens in the
workflow's activities.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
from datetime import timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from temporalio.client import (
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.service import RPCError

from api.admin.audit import actor_of
from api.booking_changes import BookingChangeHandlers
from api.booking_reads import (
    BookingRead,
    IdempotencyKey,
    booking_payment,
    booking_read,
    booking_reads,
    load_booking_for,
    paid_stay,
)
from api.calendar import current_platform, priced_stay
from api.errors import Problem, caused_by
from api.listings.service import load_visible_listing
from api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, keyset
from api.security import CurrentUser
from api.validation import invalid
from models import Booking, BookingChange, Invoice, Listing, Payment
from stayflow.audit import Actor, record_admin_action
from stayflow.invoice_pdf import render_document
from stayflow.rules.booking_status import CANCELLABLE, UNCONFIRMED, WAS_CAPTURED, BookingStatus, PaymentStatus
from stayflow.rules.refunds import Canceller, Refund, refund_for_cancellation
from stayflow.settings import Settings
from stayflow.temporal import TemporalGateway
from workflows.booking import BookingWorkflow, booking_workflow_id
from workflows.payloads.booking import BookingRequest, HostDecision
from workflows.payloads.cancellation import CancellationRequest


class BookingCreate(msgspec.Struct, forbid_unknown_fields=True):
    listing_id: UUID
    check_in: dt.date
    check_out: dt.date
    guests: Annotated[int, msgspec.Meta(ge=1, le=50)]
    payment_method: Annotated[str, msgspec.Meta(min_length=1, max_length=100, description="a Stripe PaymentMethod id")]


class CancelBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class RefundRead(msgspec.Struct):
    amount: int
    currency: str
    method: Literal["refund", "void", "none"]
    """`refund`: money goes back to the card; `void`: the hold is released, nothing was taken."""
    rule: str


class CancelAnswer(msgspec.Struct):
    booking: BookingRead
    refund: RefundRead


class TimelineRead(msgspec.Struct):
    booking_id: UUID
    status: str
    steps: list[dict[str, str]]


class DocumentRead(msgspec.Struct):
    kind: str
    number: str
    issued_at: dt.datetime
    billed_to: str
    currency: str
    lines: list[dict[str, Any]]
    total: int


class InvoiceRead(msgspec.Struct):
    booking_id: UUID
    documents: list[DocumentRead]


def _request_hash(data: msgspec.Struct) -> str:
    return hashlib.sha256(msgspec.json.encode(data)).hexdigest()


async def _workflow_exists(temporal: TemporalGateway, booking_id: UUID) -> bool:
    try:
        await (await temporal.client()).get_workflow_handle(booking_workflow_id(booking_id)).describe()
    except Exception:
        return False
    return True


async def _page_of_bookings(query: Any, limit: int, cursor: str | None) -> Page[BookingRead]:
    rows, next_cursor = await keyset(
        query, time_column=Booking.created_at, id_column=Booking.id, limit=limit, cursor=cursor, newest_first=True
    )
    return Page(items=await booking_reads(rows), next_cursor=next_cursor)


class BookingsController(BookingChangeHandlers, Controller):
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
        guest = request.user
        digest = _request_hash(data)
        replay = await self._replay(guest.id, idempotency_key, digest)
        if replay is not None:
            return Response(await booking_read(replay), status_code=201)
        listing = await load_visible_listing(data.listing_id, guest)
        if listing.host == guest.id:
            raise invalid("listing_id", "you cannot book your own listing")
        quote = await priced_stay(listing, data.check_in, data.check_out, data.guests)
        price = msgspec.to_builtins(quote)
        platform = await current_platform()
        booking = Booking(
            listing=listing.id,
            guest=guest.id,
            host=listing.host,
            check_in=data.check_in,
            check_out=data.check_out,
            guests=data.guests,
            status=BookingStatus.pending_payment,
            price=price,
            total=quote.total,
            currency=quote.currency,
            payment_method=data.payment_method,
            idempotency_key=idempotency_key,
            request_hash=digest,
            review_window_days=platform.review_window_days,
        )
        try:
            async with Booking._meta.db.transaction():
                # One booking request of a guest at a time, so the unconfirmed limit holds under races.
                await Booking.raw("SELECT pg_advisory_xact_lock(hashtext({}))", str(guest.id))
                holding = await Booking.count().where(
                    (Booking.guest == guest.id) & Booking.status.is_in(list(UNCONFIRMED))
                )
                if holding >= settings.max_unconfirmed_bookings_per_guest:
                    raise Problem(
                        409,
                        f"You already have {holding} unconfirmed bookings; wait for them to settle first.",
                        slug="too-many-unconfirmed",
                    )
                await booking.save()
                await Payment(booking=booking.id, amount=quote.total, currency=quote.currency).save()
        except Exception as exc:
            if caused_by(exc, asyncpg.exceptions.ExclusionViolationError):
                raise Problem(409, "Those dates were just taken.", slug="dates-unavailable") from exc
            if caused_by(exc, asyncpg.exceptions.UniqueViolationError):  # the same key, racing
                replay = await self._replay(guest.id, idempotency_key, digest)
                if replay is not None:
                    return Response(await booking_read(replay), status_code=201)
            raise
        try:
            client = await temporal.client()
            await client.start_workflow(
                BookingWorkflow.run,
                BookingRequest(
                    booking_id=str(booking.id),
                    listing_id=str(listing.id),
                    guest_id=str(guest.id),
                    host_id=str(listing.host),
                    check_in=data.check_in.isoformat(),
                    check_out=data.check_out.isoformat(),
                    instant_book=listing.instant_book,
                    host_response_hours=platform.host_response_window_hours,
                    review_window_days=platform.review_window_days,
                    payment_authentication_minutes=settings.payment_authentication_minutes,
                    total=quote.total,
                ),
                id=booking_workflow_id(booking.id),
                task_queue=settings.task_queue,
                static_summary=(
                    f"Booking of “{listing.title}” by {guest.full_name}, {data.check_in} to {data.check_out}"
                ),
            )
        except Exception as exc:
            if await _workflow_exists(temporal, booking.id):  # the start went through after all
                return Response(await booking_read(booking), status_code=201)
            # No process, no hold: free the nights rather than leave an orphan booking.
            await Booking.update(
                {
                    Booking.status: BookingStatus.payment_failed,
                    Booking.status_reason: "The booking could not be started; try again.",
                }
            ).where(Booking.id == booking.id)
            raise Problem(503, "Bookings are unavailable right now; nothing was charged.") from exc
        return Response(await booking_read(booking), status_code=201)

    @staticmethod
    async def _replay(guest_id: UUID, key: str, digest: str) -> Booking | None:
        earlier = await Booking.objects().where((Booking.guest == guest_id) & (Booking.idempotency_key == key)).first()
        if earlier is None:
            return None
        if earlier.request_hash != digest:
            raise Problem(422, "This Idempotency-Key was used with a different request.", slug="idempotency-key-reused")
        return earlier

    @get(operation_id="myBookings", summary="My bookings as a guest, newest first")
    async def mine(
        self,
        request: Request[CurrentUser, Any, Any],
        status: FromQuery[BookingStatus | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[BookingRead]:
        query = Booking.objects().where(Booking.guest == request.user.id)
        if status is not None:
            query = query.where(Booking.status == status)
        return await _page_of_bookings(query, limit, cursor)

    @get("/{booking_id:uuid}", operation_id="getBooking", summary="One booking (its guest, host or an admin)")
    async def read(self, request: Request[CurrentUser, Any, Any], booking_id: FromPath[UUID]) -> BookingRead:
        return await booking_read(await load_booking_for(booking_id, request.user))

    async def _decide(
        self, request: Request[CurrentUser, Any, Any], booking_id: UUID, accept: bool, temporal: TemporalGateway
    ) -> BookingRead:
        booking = await Booking.objects().get(Booking.id == booking_id)
        if booking is None or (booking.host != request.user.id):
            raise Problem(404, "No such booking.")
        # The host answers whatever awaits them: a booking request, or a guest's change of a confirmed booking.
        change_waiting = booking.status == BookingStatus.confirmed and await BookingChange.exists().where(
            (BookingChange.booking == booking.id) & (BookingChange.status == "awaiting_host")
        )
        if booking.status != BookingStatus.awaiting_host and not change_waiting:
            raise Problem(
                409, f"This booking is {booking.status}, not awaiting your answer.", slug="illegal-transition"
            )
        client = await temporal.client()
        try:
            outcome = await client.get_workflow_handle(booking_workflow_id(booking_id)).execute_update(
                BookingWorkflow.decide_change if change_waiting else BookingWorkflow.decide,
                HostDecision(accept=accept, host_id=str(request.user.id)),
                rpc_timeout=timedelta(seconds=20),
            )
        except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
            # Accepted, but Stripe is slow: the capture is retried in the background.
            raise Problem(
                503,
                "Your answer was taken; the payment is still being processed. Check the booking.",
                slug="unavailable",
                headers={"Retry-After": "30"},
            ) from exc
        except WorkflowUpdateFailedError as exc:
            raise Problem(409, str(exc.cause or exc), slug="illegal-transition") from exc
        except RPCError as exc:
            raise Problem(409, "This booking is no longer awaiting an answer.", slug="illegal-transition") from exc
        if change_waiting and getattr(outcome, "status", "") not in ("applied", "declined"):
            # The host said yes, but the change could not be made (card, nights) or had lapsed.
            reason = getattr(outcome, "reason", "") or f"the change is {getattr(outcome, 'status', 'gone')}"
            raise Problem(409, f"The change was not made: {reason}", slug="change-not-made")
        fresh = await Booking.objects().get(Booking.id == booking_id)
        assert fresh is not None
        return await booking_read(fresh)

    @post("/{booking_id:uuid}/accept", operation_id="acceptBooking", summary="Host: accept a request", status_code=200)
    async def accept(
        self,
        request: Request[CurrentUser, Any, Any],
        booking_id: FromPath[UUID],
        temporal: NamedDependency[TemporalGateway],
    ) -> BookingRead:
        """Captures the payment, issues invoice and receipt; answers when the booking is confirmed.
        On a confirmed booking with a change awaiting the host: applies the change."""
        return await self._decide(request, booking_id, True, temporal)

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
        return await self._decide(request, booking_id, False, temporal)

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

    @get("/{booking_id:uuid}/timeline", operation_id="bookingTimeline", summary="Each step of the booking's process")
    async def timeline(
        self,
        request: Request[CurrentUser, Any, Any],
        booking_id: FromPath[UUID],
        temporal: NamedDependency[TemporalGateway],
    ) -> TimelineRead:
        booking = await load_booking_for(booking_id, request.user)
        handle = (await temporal.client()).get_workflow_handle(booking_workflow_id(booking.id))
        try:
            steps = await handle.query(BookingWorkflow.timeline)
        except RPCError:  # no process was ever started for it (it failed before starting)
            steps = []
        return TimelineRead(
            booking_id=booking.id, status=booking.status, steps=[{"step": s.step, "at": s.at} for s in steps]
        )

    @get("/{booking_id:uuid}/invoice", operation_id="bookingInvoice", summary="Invoice, receipt and credit notes")
    async def invoice(self, request: Request[CurrentUser, Any, Any], booking_id: FromPath[UUID]) -> InvoiceRead:
        booking = await load_booking_for(booking_id, request.user)
        documents = await Invoice.objects().where(Invoice.booking == booking.id).order_by(Invoice.issued_at)
        if not documents:
            raise Problem(404, "No invoice yet: it is issued when the payment is captured.")
        return InvoiceRead(booking_id=booking.id, documents=[_document(d) for d in documents])

    @get(
        "/{booking_id:uuid}/invoice.pdf",
        operation_id="bookingInvoicePdf",
        summary="The invoice as PDF",
        media_type="application/pdf",
    )
    async def invoice_pdf(self, request: Request[CurrentUser, Any, Any], booking_id: FromPath[UUID]) -> Response[bytes]:
        booking = await load_booking_for(booking_id, request.user)
        invoice = (  # the booking's own invoice (a costlier change adds one for the difference)
            await Invoice.objects()
            .where((Invoice.booking == booking.id) & (Invoice.kind == "invoice"))
            .order_by(Invoice.issued_at)
            .first()
        )
        if invoice is None:
            raise Problem(404, "No invoice yet: it is issued when the payment is captured.")
        doc = _document(invoice)
        pdf = render_document(
            kind=doc.kind,
            number=doc.number,
            issued_at=doc.issued_at,
            billed_to=doc.billed_to,
            currency=doc.currency,
            lines=doc.lines,
            total=doc.total,
        )
        return Response(
            pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{doc.number}.pdf"'}
        )


async def cancel_booking(
    user: CurrentUser,
    booking_id: UUID,
    reason: str,
    idempotency_key: str,
    temporal: TemporalGateway,
    *,
    actor: Actor,
    as_admin: bool = False,
) -> CancelAnswer:
    """The one way a booking is cancelled, whoever asks: the refund is decided and claimed here (an
    admin's claim with its audit row, in one transaction); the money moves in the workflow."""
    booking = await load_booking_for(booking_id, user)
    payment = await booking_payment(booking.id)
    by: Canceller = (
        "admin" if as_admin else "guest" if user.id == booking.guest else "host" if user.id == booking.host else "admin"
    )
    claim = f"{idempotency_key}#{hashlib.sha256(f'{by}:{reason}'.encode()).hexdigest()[:24]}"
    if booking.cancellation_key is not None:
        if booking.cancellation_key == claim:
            if booking.status in CANCELLABLE:  # the first attempt may not have reached the workflow
                await _resend_cancellation(temporal, booking, payment, by, reason)
            return await _cancel_answer(booking, payment, rule="as decided when the cancellation was made")
        if booking.cancellation_key.split("#", 1)[0] == idempotency_key:
            raise Problem(422, "This Idempotency-Key was used with a different request.", slug="idempotency-key-reused")
        raise Problem(409, "This booking is already cancelled.", slug="illegal-transition")
    if booking.status not in CANCELLABLE:
        raise Problem(409, f"A booking that is {booking.status} cannot be cancelled.", slug="illegal-transition")
    listing = await Listing.objects().get(Listing.id == booking.listing)
    assert listing is not None
    decision = refund_for_cancellation(
        paid=paid_stay(booking),
        policy=listing.cancellation_policy,
        cancelled_by=by,
        cancelled_at=dt.datetime.now(dt.UTC),
    )
    captured = payment.status in WAS_CAPTURED
    amount = decision.amount if captured else 0
    lines = credit_lines(decision) if captured else []
    async with Booking._meta.db.transaction():
        claimed = (
            await Booking.update(
                {
                    Booking.cancellation_key: claim,
                    Booking.cancelled_by: by,
                    Booking.refund_amount: amount,
                    Booking.refund_lines: lines,
                }
            )
            .where((Booking.id == booking.id) & Booking.cancellation_key.is_null())
            .returning(Booking.id)
        )
        if claimed and by == "admin":
            await record_admin_action(
                actor,
                "booking.cancel",
                "booking",
                booking.id,
                before={"status": booking.status, "payment_status": payment.status},
                after={"cancelled_by": by, "refund_amount": amount, "currency": payment.currency},
                reason=reason,
            )
    if not claimed:
        raise Problem(409, "This booking is already being cancelled.", slug="illegal-transition")
    handle = (await temporal.client()).get_workflow_handle(booking_workflow_id(booking.id))
    try:
        await _hand_over_cancellation(
            handle,
            CancellationRequest(
                booking_id=str(booking.id),
                cancelled_by=by,
                reason=reason,
                refund=amount,
                lines=lines,
                captured=captured,
                total=booking.total,
            ),
            attempts=CANCEL_ATTEMPTS,
        )
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        # Unknown whether the workflow took it: keep the claim; the same request again is safe.
        raise Problem(
            503,
            "The cancellation is taking long; repeat the request with the same Idempotency-Key.",
            slug="unavailable",
        ) from exc
    except (WorkflowUpdateFailedError, RPCError) as exc:
        cause = exc.cause if isinstance(exc, WorkflowUpdateFailedError) else exc
        async with Booking._meta.db.transaction():
            await Booking.update(
                {
                    Booking.cancellation_key: None,
                    Booking.cancelled_by: None,
                    Booking.refund_amount: None,
                    Booking.refund_lines: None,
                }
            ).where(Booking.id == booking.id)
            if by == "admin":  # the claim was audited: so is its withdrawal
                await record_admin_action(
                    actor,
                    "booking.cancel_refused",
                    "booking",
                    booking.id,
                    before={"cancelled_by": by, "refund_amount": amount},
                    after={"cancelled_by": None, "refund_amount": None},
                    reason=str(cause or exc),
                )
        raise Problem(409, str(cause or exc), slug="illegal-transition") from exc
    fresh = await Booking.objects().get(Booking.id == booking.id)
    assert fresh is not None
    return await _cancel_answer(fresh, payment, rule=decision.rule)


def credit_lines(refund: Refund) -> list[dict[str, Any]]:
    lines = [
        ("Refund of nights", refund.nights),
        ("Refund of cleaning fee", refund.cleaning_fee),
        ("Refund of service fee", refund.service_fee),
        ("Refund of taxes", refund.taxes),
    ]
    return [{"description": d, "amount": a} for d, a in lines if a]


CANCEL_ATTEMPTS = 12
"""Right after a capture the database already shows, the run may refuse a cancellation for a
moment (it has not yet moved to the stay): ask again every quarter second for ~3 s."""


async def _hand_over_cancellation(
    handle: WorkflowHandle[Any, Any], request: CancellationRequest, *, attempts: int = 1
) -> None:
    """Send the `cancel` update; raise WorkflowUpdateFailedError when the run's validator refuses.

    Waiting for ACCEPTED, a refusal comes back as the update's outcome rather than as an error,
    so it is checked here: an unchecked refusal would answer 202 for a cancellation that never runs.
    """
    for attempt in range(1, attempts + 1):
        update = await handle.start_update(BookingWorkflow.cancel, request, wait_for_stage=WorkflowUpdateStage.ACCEPTED)
        outcome = update._known_outcome  # set when the server answered with the outcome (a refusal)
        if outcome is None or not outcome.HasField("failure"):
            return
        if attempt == attempts:
            await update.result()  # raises the refusal as WorkflowUpdateFailedError
        await asyncio.sleep(0.25)


async def _resend_cancellation(
    temporal: TemporalGateway, booking: Booking, payment: Payment, by: str, reason: str
) -> None:
    amount = booking.refund_amount or 0
    stored = json.loads(booking.refund_lines) if isinstance(booking.refund_lines, str) else booking.refund_lines
    request = CancellationRequest(
        booking_id=str(booking.id),
        cancelled_by=by,
        reason=reason,
        refund=amount,
        lines=stored if stored is not None else [{"description": "Refund", "amount": amount}] if amount else [],
        captured=payment.status in WAS_CAPTURED,
        total=booking.total,
    )
    handle = (await temporal.client()).get_workflow_handle(booking_workflow_id(booking.id))
    try:
        await _hand_over_cancellation(handle, request)
    except WorkflowUpdateFailedError as exc:
        if "already being cancelled" not in str(exc.cause or exc):
            raise Problem(409, str(exc.cause or exc), slug="illegal-transition") from exc


async def _cancel_answer(booking: Booking, payment: Payment, *, rule: str) -> CancelAnswer:
    amount = booking.refund_amount or 0
    method: Literal["refund", "void", "none"] = (
        "refund" if amount else "void" if payment.status in (PaymentStatus.authorized, PaymentStatus.voided) else "none"
    )
    return CancelAnswer(
        booking=await booking_read(booking),
        refund=RefundRead(amount=amount, currency=payment.currency, method=method, rule=rule),
    )


def _document(row: Invoice) -> DocumentRead:
    lines = row.lines if isinstance(row.lines, list) else json.loads(row.lines)
    return DocumentRead(
        kind=row.kind,
        number=row.number,
        issued_at=row.issued_at,
        billed_to=row.billed_to,
        currency=row.currency,
        lines=lines,
        total=row.total,
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
        query = Booking.objects().where(Booking.host == request.user.id)
        if status is not None:
            query = query.where(Booking.status == status)
        return await _page_of_bookings(query, limit, cursor)
