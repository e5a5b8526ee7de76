"""Side effects of changing a booking's dates or guests (SPEC §6 step 7).

The API priced the new stay and recorded the request (`booking_changes` row, number n per
booking). Here the money moves and the nights move, in an order that never leaves the guest
charged for nights they do not hold:

- costs more: hold the difference on the guest's card (a new PaymentIntent, sequence n) ->
  move the dates (PostgreSQL's exclusion constraint refuses nights taken meanwhile: the hold
  is voided, the change fails, the booking is as it was) -> capture -> invoice and receipt;
- costs less: move the dates -> refund the difference from the captured payments, the latest
  first -> credit note;
- costs the same: move the dates.

Stripe keys `booking-<id>-change-<n>-authorize|capture|void|refund[-<sequence>]`, ledger and
document dedupe keys per change: a retried or replayed activity never moves money twice.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.bookings import AuthorizationOutcome, BookingActivities, _key, issue_document
from models import Booking, BookingChange, Payment, User
from stayflow.providers.payments import StripePayments
from stayflow.rules.booking_status import BookingStatus, PaymentStatus
from stayflow.rules.pricing import quote_json, stored_quote
from stayflow.settings import Settings


@dataclass(frozen=True)
class ChangeRef:
    booking_id: str
    number: int


@dataclass(frozen=True)
class ChangeStatus:
    booking_id: str
    number: int
    status: str
    reason: str | None = None
    code: str | None = None


def change_operation(number: int) -> str:
    return f"change-{number}"


class ChangeActivities:
    def __init__(self, settings: Settings, payments: StripePayments) -> None:
        self.bookings = BookingActivities(settings, payments)

    async def _load(self, ref: ChangeRef) -> tuple[Booking, BookingChange]:
        booking = await Booking.objects().get(Booking.id == UUID(ref.booking_id))
        change = await BookingChange.objects().get(
            (BookingChange.booking == UUID(ref.booking_id)) & (BookingChange.number == ref.number)
        )
        if booking is None or change is None:
            raise ApplicationError(f"no change {ref.number} of booking {ref.booking_id}", non_retryable=True)
        return booking, change

    def _step(self, ref: ChangeRef, step: str) -> str:
        return _key(ref.booking_id, f"{change_operation(ref.number)}-{step}")

    async def _extra_payment(self, booking: Booking, change: BookingChange) -> Payment:
        await Payment.raw(
            """INSERT INTO payments (id, booking, sequence, provider, status, amount, currency, refunded,
                                     created_at, updated_at)
               VALUES (gen_random_uuid(), {}, {}, 'stripe', 'pending', {}, {}, 0, now(), now())
               ON CONFLICT (booking, sequence) DO NOTHING""",
            booking.id,
            change.number,
            change.difference,
            change.currency,
        )
        payment = await Payment.objects().get((Payment.booking == booking.id) & (Payment.sequence == change.number))
        assert payment is not None
        return payment

    @activity.defn
    async def authorize_change(self, ref: ChangeRef) -> AuthorizationOutcome:
        """Hold the difference on the guest's card (nothing to hold when the change costs the same or less)."""
        b = self.bookings
        booking, change = await self._load(ref)
        if change.difference <= 0:
            return AuthorizationOutcome("authorized")
        payment = await self._extra_payment(booking, change)
        if payment.status in (PaymentStatus.authorized, PaymentStatus.completed):
            return AuthorizationOutcome("authorized")
        if payment.status in (PaymentStatus.failed, PaymentStatus.voided):
            return AuthorizationOutcome("declined", payment.failure_message or "The card was declined.")
        result = await b._provider(
            b.payments.authorize(
                amount=payment.amount,
                currency=payment.currency,
                payment_method=booking.payment_method,
                idempotency_key=self._step(ref, "authorize"),
                metadata={"booking_id": ref.booking_id, "change": str(ref.number)},
            )
        )
        if result.outcome == "authorized":
            await b._payment(payment, intent_id=result.intent_id, status=PaymentStatus.authorized)
            await b._ledger(booking, payment, "authorization", payment.amount, result.intent_id or "")
            return AuthorizationOutcome("authorized")
        message = result.decline_message or "The card was declined."
        if result.outcome == "requires_action":
            # Nobody is there to confirm a change's charge in the browser: release the attempt.
            await b._provider(
                b.payments.void(intent_id=result.intent_id or "", idempotency_key=self._step(ref, "void"))
            )
            message = "The card asks for your confirmation; book the extra nights separately."
        await b._payment(payment, intent_id=result.intent_id, status=PaymentStatus.failed, failure_message=message)
        return AuthorizationOutcome("declined", message)

    @activity.defn
    async def move_dates(self, ref: ChangeRef) -> bool:
        """Give the booking its new dates, guests and price, and mark the change applied, in one
        transaction. False when another booking took one of the new nights meanwhile."""
        booking, change = await self._load(ref)
        if change.status == "applied":
            return True
        price = quote_json(stored_quote(change.price))
        try:
            async with Booking._meta.db.transaction():
                moved = await Booking.raw(
                    """UPDATE bookings SET check_in = {}, check_out = {}, guests = {}, price = {}::jsonb, total = {},
                              updated_at = now()
                       WHERE id = {} AND status = {} RETURNING id""",
                    change.check_in,
                    change.check_out,
                    change.guests,
                    json.dumps(price),
                    change.total,
                    booking.id,
                    BookingStatus.confirmed.value,
                )
                if not moved:
                    raise ApplicationError(f"the booking is {booking.status}", non_retryable=True)
                await BookingChange.update(
                    {BookingChange.status: "applied", BookingChange.decided_at: dt.datetime.now(dt.UTC)}
                ).where(BookingChange.id == change.id)
        except asyncpg.exceptions.ExclusionViolationError:
            return False
        return True

    @activity.defn
    async def capture_change(self, ref: ChangeRef) -> int:
        booking, change = await self._load(ref)
        if change.difference <= 0:
            return 0
        payment = await self._extra_payment(booking, change)
        return await self.bookings.capture(booking, payment, self._step(ref, "capture"))

    @activity.defn
    async def void_change(self, ref: ChangeRef) -> None:
        """Release the hold of a change that could not be made."""
        booking, change = await self._load(ref)
        payment = await Payment.objects().get((Payment.booking == booking.id) & (Payment.sequence == change.number))
        if payment is not None:
            await self.bookings.void(booking, payment, self._step(ref, "void"))

    @activity.defn
    async def refund_change(self, ref: ChangeRef) -> int:
        """Give back what the changed stay costs less, from the captured payments, the latest first."""
        booking, change = await self._load(ref)
        if change.difference >= 0:
            return 0
        await self.bookings.refund_across_payments(
            booking,
            -change.difference,
            stripe_step=f"{change_operation(ref.number)}-refund",
            operation=change_operation(ref.number),
        )
        return -change.difference

    @activity.defn
    async def issue_change_documents(self, ref: ChangeRef) -> list[str]:
        """An invoice and a receipt for the difference charged, or a credit note for the difference
        refunded; their lines say what changed and sum to the difference."""
        booking, change = await self._load(ref)
        if change.difference == 0:
            return []
        guest = await User.objects().get(User.id == booking.guest)
        assert guest is not None
        new_stay = f"Changed stay, {change.check_in} to {change.check_out}, {change.guests} guests"
        old_stay = f"Previous stay, {change.old_check_in} to {change.old_check_out}, {change.old_guests} guests"
        common: dict[str, Any] = {
            "booking_id": booking.id,
            "currency": change.currency,
            "billed_to": guest.email,
            "operation": change_operation(ref.number),
        }
        if change.difference > 0:
            lines = [
                {"description": new_stay, "amount": change.total},
                {"description": f"{old_stay}, already invoiced", "amount": -change.old_total},
            ]
            return [
                await issue_document(kind=kind, prefix=prefix, lines=lines, total=change.difference, **common)
                for kind, prefix in (("invoice", "INV"), ("receipt", "RCT"))
            ]
        lines = [
            {"description": old_stay, "amount": change.old_total},
            {"description": new_stay, "amount": -change.total},
        ]
        return [await issue_document(kind="credit_note", prefix="CRN", lines=lines, total=-change.difference, **common)]

    @activity.defn
    async def settle_failed_change(self, update: ChangeStatus) -> bool:
        """After a change's process failed for good: True when its nights had already moved (the
        booking keeps them; the payment problem is noted on the change for an operator), False
        when the booking is as it was (the change is recorded failed)."""
        note = f"Applied, but its payment failed: {update.reason}. Needs an operator."
        moved = (
            await BookingChange.update({BookingChange.status_reason: note})
            .where(
                (BookingChange.booking == UUID(update.booking_id))
                & (BookingChange.number == update.number)
                & (BookingChange.status == "applied")
            )
            .returning(BookingChange.id)
        )
        if moved:
            activity.logger.error("change %s of booking %s: %s", update.number, update.booking_id, note)
            return True
        await self.set_change_status(update)
        return False

    @activity.defn
    async def set_change_status(self, update: ChangeStatus) -> None:
        """Record how a change that was not applied ended (declined, expired, failed, withdrawn)."""
        values: dict[Any, Any] = {
            BookingChange.status: update.status,
            BookingChange.status_reason: update.reason,
            BookingChange.failure_code: update.code,
        }
        if update.status != "awaiting_host":
            values[BookingChange.decided_at] = dt.datetime.now(dt.UTC)
        await BookingChange.update(values).where(
            (BookingChange.booking == UUID(update.booking_id))
            & (BookingChange.number == update.number)
            & (BookingChange.status != "applied")
        )
