"""How a booking reads (its own view, with its payment) and who may see it; shared by the
bookings, changes and admin endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from uuid import UUID

import msgspec
from litestar.params import HeaderParameter

from api.calendar import QuoteRead, quote_read
from api.errors import Problem
from api.security import CurrentUser
from models import Booking, Payment
from models.identity import Role
from stayflow.rules.booking_status import BookingStatus, PaymentStatus
from stayflow.rules.pricing import stored_quote
from stayflow.rules.refunds import PaidStay

TAKEN = (PaymentStatus.completed, PaymentStatus.partially_refunded, PaymentStatus.refunded)
"""Payments whose money was captured (some or all of it may have been given back)."""

IdempotencyKey = Annotated[
    str,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=8,
        max_length=200,
        description="Unique per booking attempt; a retry with the same key and body gets the same answer",
    ),
]


class PaymentRead(msgspec.Struct):
    id: UUID
    status: PaymentStatus
    amount: int
    currency: str
    client_secret: str | None
    """Set while the card needs the guest's own confirmation (3-D Secure) with Stripe.js."""
    failure_message: str | None


class BookingRead(msgspec.Struct):
    id: UUID
    listing_id: UUID
    guest_id: UUID
    host_id: UUID | None
    check_in: dt.date
    check_out: dt.date
    guests: int
    status: BookingStatus
    status_reason: str | None
    price: QuoteRead | None
    payment: PaymentRead | None
    """The booking's own payment (a change that costs more is charged as a payment of its own)."""
    paid: int
    """What the guest has paid for it, net: captured minus refunded, over all its payments."""
    created_at: dt.datetime


async def booking_read(booking: Booking) -> BookingRead:
    return (await booking_reads([booking]))[0]


async def booking_reads(bookings: list[Booking]) -> list[BookingRead]:
    """A page of bookings with their payments: one query for the payments, whatever the page size."""
    if not bookings:
        return []
    own: dict[UUID, Payment] = {}
    paid: dict[UUID, int] = {}
    for p in await Payment.objects().where(Payment.booking.is_in([b.id for b in bookings])):
        if p.sequence == 0:
            own[p.booking] = p
        if p.status in TAKEN:
            paid[p.booking] = paid.get(p.booking, 0) + p.amount - p.refunded
    return [_booking_read(b, own.get(b.id), paid.get(b.id, 0)) for b in bookings]


def _booking_read(booking: Booking, payment: Payment | None, paid: int) -> BookingRead:
    return BookingRead(
        id=booking.id,
        listing_id=booking.listing,
        guest_id=booking.guest,
        host_id=booking.host,
        check_in=booking.check_in,
        check_out=booking.check_out,
        guests=booking.guests,
        status=BookingStatus(booking.status),
        status_reason=booking.status_reason,
        price=None if booking.price is None else quote_read(stored_quote(booking.price)),
        payment=PaymentRead(
            id=payment.id,
            status=PaymentStatus(payment.status),
            amount=payment.amount,
            currency=payment.currency,
            client_secret=payment.client_secret,
            failure_message=payment.failure_message,
        )
        if payment
        else None,
        paid=paid,
        created_at=booking.created_at,
    )


async def load_booking_for(booking_id: UUID, user: CurrentUser) -> Booking:
    """The booking if the caller is its guest, its host or an admin; 404 for everyone else."""
    booking = await Booking.objects().get(Booking.id == booking_id)
    if booking is None or (user.id not in (booking.guest, booking.host) and user.role != Role.admin):
        raise Problem(404, "No such booking.")
    return booking


async def booking_payment(booking_id: UUID) -> Payment:
    """The booking's own payment (changes that cost more add payments of their own)."""
    payment = await Payment.objects().get((Payment.booking == booking_id) & (Payment.sequence == 0))
    assert payment is not None
    return payment


def paid_stay(booking: Booking) -> PaidStay:
    price = stored_quote(booking.price)
    return PaidStay(
        nightly=price.nightly,
        cleaning_fee=price.cleaning_fee,
        service_fee=price.service_fee,
        taxes=price.taxes,
        booked_at=booking.created_at,
    )
