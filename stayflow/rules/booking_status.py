"""Booking and payment statuses (SPEC §6) and which may follow which."""

from __future__ import annotations

from enum import StrEnum


class BookingStatus(StrEnum):
    pending_payment = "pending_payment"
    awaiting_host = "awaiting_host"
    confirmed = "confirmed"
    completed = "completed"
    declined = "declined"
    expired = "expired"
    cancelled = "cancelled"
    payment_failed = "payment_failed"


class PaymentStatus(StrEnum):
    pending = "pending"
    authorized = "authorized"
    completed = "completed"
    refunded = "refunded"
    partially_refunded = "partially_refunded"
    voided = "voided"
    failed = "failed"


B = BookingStatus

CAPTURED = (PaymentStatus.completed, PaymentStatus.partially_refunded)
"""Payments whose money was taken and not all given back yet (something left to refund)."""

WAS_CAPTURED = (*CAPTURED, PaymentStatus.refunded)
"""Payments whose money was taken at some point, whether or not it was given back since."""

HOLDS_DATES = (B.pending_payment, B.awaiting_host, B.confirmed, B.completed)
"""The statuses whose nights nobody else may book (the exclusion constraint's WHERE)."""

UNCONFIRMED = (B.pending_payment, B.awaiting_host)
"""Bookings that hold dates without the money being taken: a guest may hold only a few."""

NEXT: dict[B, set[B]] = {
    B.pending_payment: {B.awaiting_host, B.confirmed, B.payment_failed, B.cancelled},
    B.awaiting_host: {B.confirmed, B.declined, B.expired, B.cancelled, B.payment_failed},
    B.confirmed: {B.completed, B.cancelled},
    B.completed: set(),
    B.declined: set(),
    B.expired: set(),
    B.cancelled: set(),
    B.payment_failed: set(),
}


def sources_of(target: str) -> list[B]:
    """Every status that may move to `target` (the WHERE of a conditional status update)."""
    return [source for source, targets in NEXT.items() if BookingStatus(target) in targets]


CANCELLABLE = tuple(sources_of(B.cancelled))
"""The live statuses: a booking in one of these may still be cancelled."""
