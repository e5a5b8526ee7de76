"""How a booking reads (its own view, with its payment, changes, documents and process) and who
may see it; shared by the bookings, changes and admin endpoints."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any, cast
from uuid import UUID

import msgspec
from temporalio.service import RPCError

from api.bookings.schemas import (
    AdminBookingRead,
    BookingRead,
    ChangeRead,
    DocumentRead,
    HostEarningsRead,
    InvoiceRead,
    LedgerLine,
    PaymentRead,
    StayRead,
    TermsRead,
    TimelineRead,
)
from api.calendar.schemas import quote_read
from api.errors import Problem
from api.pagination import Page, decode_number_cursor, keyset, page_of
from api.security import CurrentUser
from models import Booking, BookingChange, Invoice, LedgerEntry, Listing, Payment, PlatformSettings, User
from models.identity import Role
from stayflow.invoice_pdf import render_document
from stayflow.rules.booking_status import WAS_CAPTURED, BookingStatus, PaymentStatus
from stayflow.rules.change_refunds import ChangeHistory, history_of
from stayflow.rules.fees import host_earnings
from stayflow.rules.pricing import nights_as_paid, stored_quote
from stayflow.rules.refunds import PaidStay, Policy, free_cancellation_until
from stayflow.rules.terms import BookingTerms, stored_terms
from stayflow.temporal import TemporalGateway
from workflows.booking import BookingWorkflow, booking_workflow_id

PAYMENT_NOT_TAKEN = "The guest's payment did not go through."
"""What a booking's host and admins read where its guest reads the card's decline reason."""


async def booking_read(booking: Booking, *, viewer: UUID | None = None, admin: bool = False) -> BookingRead:
    return (await booking_reads([booking], viewer=viewer, admin=admin))[0]


async def booking_reads(
    bookings: list[Booking], *, viewer: UUID | None = None, admin: bool = False
) -> list[BookingRead]:
    """A page of bookings with their payments: one query for the payments, whatever the page size.
    The host (`viewer`) and admins see the host's earnings; only the guest sees the card's 3-D
    Secure client secret and decline reason."""
    if not bookings:
        return []
    own: dict[UUID, Payment] = {}
    paid: dict[UUID, int] = {}
    for p in await Payment.objects().where(Payment.booking.is_in([b.id for b in bookings])):
        if p.sequence == 0:
            own[p.booking] = p
        if p.status in WAS_CAPTURED:
            paid[p.booking] = paid.get(p.booking, 0) + p.amount - p.refunded
    reads = []
    for b in bookings:
        terms = stored_terms(b.terms) if b.terms is not None else None
        as_host = admin or (viewer is not None and viewer == b.host)
        as_guest = viewer is not None and viewer == b.guest
        reads.append(_booking_read(b, own.get(b.id), paid.get(b.id, 0), terms, as_host=as_host, as_guest=as_guest))
    return reads


def terms_read(booking: Booking, terms: BookingTerms) -> TermsRead:
    clock = terms.clock
    check_in, check_out = clock.night_starts(booking.check_in), clock.stay_ends(booking.check_out)
    free_until = (
        free_cancellation_until(paid=paid_stay(booking, terms), policy=terms.cancellation_policy)
        if booking.price is not None and stored_quote(booking.price).nightly
        else None
    )
    return TermsRead(
        **msgspec.structs.asdict(terms),
        check_in_at=check_in,
        check_in_local=clock.local(check_in),
        check_out_at=check_out,
        check_out_local=clock.local(check_out),
        free_cancellation_until=free_until,
        free_cancellation_until_local=None if free_until is None else clock.local(free_until),
    )


def _booking_read(
    booking: Booking,
    payment: Payment | None,
    paid: int,
    terms: BookingTerms | None,
    *,
    as_host: bool,
    as_guest: bool,
) -> BookingRead:
    reason = booking.status_reason
    if not as_guest and booking.status == BookingStatus.payment_failed:
        reason = PAYMENT_NOT_TAKEN  # the card's decline reason is the guest's alone
    earnings = (
        host_earnings(stored_quote(booking.price), terms.host_fee_bps)
        if as_host and terms is not None and booking.price is not None
        else None
    )
    return BookingRead(
        id=booking.id,
        listing_id=booking.listing,
        guest_id=booking.guest,
        host_id=booking.host,
        check_in=booking.check_in,
        check_out=booking.check_out,
        guests=booking.guests,
        status=BookingStatus(booking.status),
        status_reason=reason,
        price=None if booking.price is None else quote_read(stored_quote(booking.price)),
        payment=PaymentRead(
            id=payment.id,
            status=PaymentStatus(payment.status),
            amount=payment.amount,
            currency=payment.currency,
            client_secret=payment.client_secret if as_guest else None,
            failure_message=payment.failure_message if as_guest else None,
        )
        if payment
        else None,
        paid=paid,
        created_at=booking.created_at,
        terms=None if terms is None else terms_read(booking, terms),
        host_earnings=None if earnings is None else HostEarningsRead(earnings.amount, earnings.currency, earnings.fee),
    )


async def page_of_bookings(
    *,
    limit: int,
    cursor: str | None,
    status: BookingStatus | None = None,
    guest_id: UUID | None = None,
    host_id: UUID | None = None,
    listing_id: UUID | None = None,
    nights_from: dt.date | None = None,
    nights_to: dt.date | None = None,
    viewer: UUID | None = None,
    admin: bool = False,
) -> Page[BookingRead]:
    """Bookings matching every filter given, newest first (stays with a night in [nights_from, nights_to))."""
    query = Booking.objects()
    if status is not None:
        query = query.where(Booking.status == status)
    if guest_id is not None:
        query = query.where(Booking.guest == guest_id)
    if host_id is not None:
        query = query.where(Booking.host == host_id)
    if listing_id is not None:
        query = query.where(Booking.listing == listing_id)
    if nights_from is not None:
        query = query.where(Booking.check_out > nights_from)
    if nights_to is not None:
        query = query.where(Booking.check_in < nights_to)
    rows, next_cursor = await keyset(
        query, time_column=Booking.created_at, id_column=Booking.id, limit=limit, cursor=cursor, newest_first=True
    )
    return Page(items=await booking_reads(rows, viewer=viewer, admin=admin), next_cursor=next_cursor)


async def load_booking_for(booking_id: UUID, user: CurrentUser) -> Booking:
    """The booking if the caller is its guest, its host or an admin; 404 for everyone else."""
    booking = await Booking.objects().get(Booking.id == booking_id)
    if booking is None or (user.id not in (booking.guest, booking.host) and user.role != Role.admin):
        raise Problem(404, "No such booking.")
    return booking


async def booking_for_admin(booking_id: UUID, admin: UUID) -> AdminBookingRead:
    """One booking with every movement of its money, oldest first."""
    booking = await Booking.objects().get(Booking.id == booking_id)
    if booking is None:
        raise Problem(404, "No such booking.")
    ledger = await LedgerEntry.objects().where(LedgerEntry.booking == booking.id).order_by(LedgerEntry.created_at)
    return AdminBookingRead(
        booking=await booking_read(booking, admin=True),
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


async def booking_payment(booking_id: UUID) -> Payment:
    """The booking's own payment (changes that cost more add payments of their own)."""
    payment = await Payment.objects().get((Payment.booking == booking_id) & (Payment.sequence == 0))
    assert payment is not None
    return payment


def paid_stay(booking: Booking, terms: BookingTerms) -> PaidStay:
    price = stored_quote(booking.price)
    return PaidStay(
        nightly=nights_as_paid(price),  # each night with its share of the discount and extra-guest fee
        cleaning_fee=price.cleaning_fee,
        service_fee=price.service_fee,
        taxes=price.taxes,
        booked_at=booking.created_at,
        clock=terms.clock,
    )


async def booking_terms(booking: Booking) -> BookingTerms:
    """The terms the booking was made with. Rows from before terms were frozen (m0022 backfills
    those it finds) read as they were decided then: the listing's policy, 15:00/11:00 UTC."""
    if booking.terms is not None:
        return stored_terms(booking.terms)
    listing = await Listing.objects().get(Listing.id == booking.listing)
    platform = await PlatformSettings.objects().first()
    return BookingTerms(
        cancellation_policy=cast(Policy, listing.cancellation_policy if listing else "strict"),
        guest_fee_bps=platform.service_fee_bps if platform else 0,
        host_fee_bps=platform.host_fee_bps if platform else 0,
        tax_bps=platform.tax_bps if platform else 0,
        currency=booking.currency,
    )


async def change_history(booking: Booking) -> ChangeHistory | None:
    """The booking's applied changes, for the rule that changes compose with the policy."""
    applied = (
        await BookingChange.objects()
        .where((BookingChange.booking == booking.id) & (BookingChange.status == "applied"))
        .order_by(BookingChange.number)
    )
    if not applied or applied[0].refund_when_asked is None:
        return None  # never changed (or changed before the rule kept its bound)
    return history_of([applied[0].refund_when_asked], [c.difference for c in applied])


def change_read(row: BookingChange) -> ChangeRead:
    return ChangeRead(
        number=row.number,
        status=row.status,
        status_reason=row.status_reason,
        previous=StayRead(row.old_check_in, row.old_check_out, row.old_guests, row.old_total),
        requested=StayRead(row.check_in, row.check_out, row.guests, row.total),
        price=quote_read(stored_quote(row.price)),
        difference=row.difference,
        currency=row.currency,
        created_at=row.created_at,
        decided_at=row.decided_at,
    )


async def booking_changes(booking: Booking, *, limit: int, cursor: str | None) -> Page[ChangeRead]:
    """Every change asked of the booking, oldest (number 1) first, one cursor page at a time."""
    after = decode_number_cursor(cursor)
    query = BookingChange.objects().where(BookingChange.booking == booking.id)
    if after is not None:
        query = query.where(BookingChange.number > after)
    rows = await query.order_by(BookingChange.number).limit(limit + 1)
    return page_of(rows, limit, change_read, lambda r: (r.number,))


async def booking_timeline(temporal: TemporalGateway, booking: Booking) -> TimelineRead:
    """Each step of the booking's process so far, as its workflow tells it."""
    handle = (await temporal.client()).get_workflow_handle(booking_workflow_id(booking.id))
    try:
        steps = await handle.query(BookingWorkflow.timeline)
    except RPCError:  # no process was ever started for it (it failed before starting)
        steps = []
    return TimelineRead(
        booking_id=booking.id, status=booking.status, steps=[{"step": s.step, "at": s.at} for s in steps]
    )


NO_INVOICE_YET = "No invoice yet: it is issued when the payment is captured."


async def booking_documents(booking: Booking, viewer: UUID) -> InvoiceRead:
    """Invoice, receipt and credit notes, in the order they were issued."""
    documents = await Invoice.objects().where(Invoice.booking == booking.id).order_by(Invoice.issued_at)
    if not documents:
        raise Problem(404, NO_INVOICE_YET)
    billed_to = await _billed_to_for(booking, viewer)
    return InvoiceRead(booking_id=booking.id, documents=[_document(d, billed_to) for d in documents])


async def _billed_to_for(booking: Booking, viewer: UUID) -> str | None:
    """None: the document as issued (its guest, admins). For anyone else (the host) only the
    guest's name: a guest's email address is not the host's to read."""
    if viewer == booking.guest:
        return None
    admin = await User.exists().where((User.id == viewer) & (User.role == Role.admin))
    if admin:
        return None
    guest = await User.select(User.full_name).where(User.id == booking.guest).first()
    return guest["full_name"] if guest else "The guest"


async def booking_invoice_pdf(booking: Booking, viewer: UUID) -> tuple[str, bytes]:
    """The booking's own invoice as PDF (its number, its bytes), rendered off the event loop:
    a name in a CJK script loads a large font."""
    doc = await booking_invoice(booking, viewer)
    pdf = await asyncio.to_thread(
        render_document,
        kind=doc.kind,
        number=doc.number,
        issued_at=doc.issued_at,
        billed_to=doc.billed_to,
        currency=doc.currency,
        lines=doc.lines,
        total=doc.total,
    )
    return doc.number, pdf


async def booking_invoice(booking: Booking, viewer: UUID) -> DocumentRead:
    """The booking's own invoice (a costlier change adds one for the difference)."""
    invoice = (
        await Invoice.objects()
        .where((Invoice.booking == booking.id) & (Invoice.kind == "invoice"))
        .order_by(Invoice.issued_at)
        .first()
    )
    if invoice is None:
        raise Problem(404, NO_INVOICE_YET)
    return _document(invoice, await _billed_to_for(booking, viewer))


def _document(row: Invoice, billed_to: str | None = None) -> DocumentRead:
    lines: list[dict[str, Any]] = row.lines if isinstance(row.lines, list) else json.loads(row.lines)
    return DocumentRead(
        kind=row.kind,
        number=row.number,
        issued_at=row.issued_at,
        billed_to=row.billed_to if billed_to is None else billed_to,
        currency=row.currency,
        lines=lines,
        total=row.total,
    )
