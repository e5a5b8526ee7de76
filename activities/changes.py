"""A change of a booking's dates or guests (SPEC §6 step 7): the change's own rows and the
booking's nights.

The API priced the new stay and recorded the request (`booking_changes` row, number n per
booking). The BookingChangeWorkflow moves the money (`activities.payments`) and the nights
(here) in an order that never leaves the guest charged for nights they do not hold:

- costs more: hold the difference on the guest's card (a new PaymentIntent, sequence n) ->
  move the dates (PostgreSQL's exclusion constraint refuses nights taken meanwhile: the hold
  is voided, the change fails, the booking is as it was) -> capture -> invoice and receipt;
- costs less: move the dates -> refund the difference from the captured payments, the latest
  first -> credit note (`activities.documents`);
- costs the same: move the dates.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from uuid import UUID

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.bookings import preparation_time_conflicts
from models import Booking, BookingChange
from stayflow.rules.booking_status import BookingStatus
from stayflow.rules.pricing import quote_json, stored_quote
from workflows.payloads.change import ChangeRef, ChangeStatus


def change_operation(number: int) -> str:
    """A change's name in dedupe keys and Stripe keys (`change-<n>`)."""
    return f"change-{number}"


async def load_change(ref: ChangeRef) -> tuple[Booking, BookingChange]:
    """The booking and its change `ref.number`; a non-retryable error when either is missing."""
    booking = await Booking.objects().get(Booking.id == UUID(ref.booking_id))
    change = await BookingChange.objects().get(
        (BookingChange.booking == UUID(ref.booking_id)) & (BookingChange.number == ref.number)
    )
    if booking is None or change is None:
        raise ApplicationError(f"no change {ref.number} of booking {ref.booking_id}", non_retryable=True)
    return booking, change


class ChangeActivities:
    @activity.defn
    async def move_dates(self, ref: ChangeRef) -> bool:
        """Give the booking its new dates, guests and price, and mark the change applied, in one
        transaction. False when another booking took one of the new nights meanwhile, or one in
        whose preparation time they fall."""
        booking, change = await load_change(ref)
        if change.status == "applied":
            return True
        price = quote_json(stored_quote(change.price))
        try:
            async with Booking._meta.db.transaction():
                if await preparation_time_conflicts(
                    booking.listing, change.check_in, change.check_out, except_booking=booking.id
                ):
                    return False  # another stay came within the preparation time meanwhile
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
