"""Changing a booking's dates or guests (SPEC §6 step 7): what `PATCH /api/v1/bookings/{id}` does.

The new stay is checked and priced exactly like a new booking (the same `priced_stay`; the
booking's own nights do not block it), the request recorded (`booking_changes`, numbered per
booking, keyed by the Idempotency-Key) and handed to the running BookingWorkflow as the
`modify` update. The workflow charges or refunds the difference and moves the nights (see
`workflows/booking_change.py`); on a request-to-book listing the host accepts the change first
with the same `accept|decline` endpoints as a booking request.

Rules a guest will meet:
- only the guest changes, only a `confirmed` booking, only before check-in, one change at a time;
- a change that costs more is charged at once to the booking's card (a declined card: 402,
  nothing changes);
- a change that costs less is refunded in full, so it is allowed only while the booking's
  cancellation policy (its frozen terms) would still refund the whole stay (later: 409; cancel
  under the policy instead);
- changes compose with the policy (`stayflow.rules.change_refunds`): a change whose refund would
  give back more than cancelling at the first change would have, plus what was paid for changes,
  is a 409 naming the rule, and a later cancellation is bounded the same way.
"""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from api.bookings.reads import booking_read, booking_terms, change_history, change_read, load_booking_for, paid_stay
from api.bookings.schemas import OPEN_CHANGE, BookingChangeBody, ChangeAnswer
from api.bookings.service import request_hash
from api.calendar.service import priced_stay
from api.errors import Problem, caused_by, invalid
from api.security import CurrentUser
from models import Booking, BookingChange, Listing
from stayflow.rules.booking_status import BookingStatus
from stayflow.rules.change_refunds import RULE_SLUG, change_breaks_rule
from stayflow.rules.changes import change_refusal
from stayflow.rules.pricing import quote_json
from stayflow.rules.refunds import refund_for_cancellation
from stayflow.templates import money
from stayflow.temporal import TemporalGateway, TemporalUnavailable, bounded
from workflows.booking import BookingWorkflow, booking_workflow_id
from workflows.payloads.change import ChangeRequest


def _summary(check_in: dt.date, check_out: dt.date, guests: int, difference: int, currency: str) -> str:
    if difference > 0:
        cost = f"{money(difference, currency)} more, charged to the booking's card"
    elif difference < 0:
        cost = f"{money(-difference, currency)} less, refunded to the booking's card"
    else:
        cost = "the same price"
    return f"Now {check_in} to {check_out} for {guests} guest{'s' if guests != 1 else ''}; {cost}."


async def change_booking(
    user: CurrentUser, booking_id: UUID, data: BookingChangeBody, idempotency_key: str, temporal: TemporalGateway
) -> ChangeAnswer:
    """The change as it stands once the workflow answered: applied, or awaiting the host
    (`OPEN_CHANGE`); a change that failed is raised as its problem (402 for a declined card)."""
    booking = await load_booking_for(booking_id, user)
    if user.id != booking.guest:
        raise Problem(403, "Only the guest can change a booking; a host or admin can cancel it.")
    digest = request_hash(data)
    earlier = await BookingChange.objects().get(
        (BookingChange.booking == booking.id) & (BookingChange.idempotency_key == idempotency_key)
    )
    if earlier is not None:
        if earlier.request_hash != digest:
            raise Problem(422, "This Idempotency-Key was used with a different request.", slug="idempotency-key-reused")
        if earlier.status == "requested":  # the first attempt may not have reached the workflow
            await _hand_over(temporal, booking, earlier)
        return await _answer(earlier.id)

    check_in = booking.check_in if isinstance(data.check_in, msgspec.UnsetType) else data.check_in
    check_out = booking.check_out if isinstance(data.check_out, msgspec.UnsetType) else data.check_out
    guests = booking.guests if isinstance(data.guests, msgspec.UnsetType) else data.guests
    if (check_in, check_out, guests) == (booking.check_in, booking.check_out, booking.guests):
        raise invalid("check_in", "send new dates or a new number of guests")
    if booking.cancellation_key is not None:
        raise Problem(409, "This booking is being cancelled.", slug="illegal-transition")
    if booking.status != BookingStatus.confirmed:
        raise Problem(
            409,
            f"Only confirmed bookings can be changed; this one is {booking.status}.",
            slug="illegal-transition",
        )
    now = dt.datetime.now(dt.UTC)
    terms = await booking_terms(booking)
    if terms.clock.stay_started(booking.check_in, now):
        raise Problem(409, "The stay has started; it can no longer be changed.", slug="illegal-transition")
    open_change = await BookingChange.objects().get(
        (BookingChange.booking == booking.id) & BookingChange.status.is_in(list(OPEN_CHANGE))
    )
    if open_change is not None and not await _lost(temporal, open_change):
        raise Problem(409, "Another change of this booking is still open.", slug="change-in-progress")
    listing = await Listing.objects().get(Listing.id == booking.listing)
    assert listing is not None
    # The listing's notice judges a new check-in date, not the one already booked.
    quote = await priced_stay(
        listing, check_in, check_out, guests, except_booking=booking.id, judge_notice=check_in != booking.check_in
    )
    if quote.currency != booking.currency:
        raise Problem(409, "The listing now prices in another currency; cancel and book again.")
    difference = quote.total - booking.total
    paid = paid_stay(booking, terms)
    refusal = change_refusal(paid=paid, policy=terms.cancellation_policy, difference=difference, now=now)
    if refusal is not None:
        raise Problem(409, refusal, slug="change-not-refundable" if difference < 0 else "illegal-transition")
    # What cancelling now would give back: at the first applied change, the bound of the rule.
    refund_now = refund_for_cancellation(
        paid=paid, policy=terms.cancellation_policy, cancelled_by="guest", cancelled_at=now
    ).amount
    broken = change_breaks_rule(await change_history(booking), refund_now=refund_now, difference=difference)
    if broken is not None:
        raise Problem(409, broken, slug=RULE_SLUG)
    number = await BookingChange.count().where(BookingChange.booking == booking.id) + 1
    row = BookingChange(
        booking=booking.id,
        number=number,
        status="requested",
        old_check_in=booking.check_in,
        old_check_out=booking.check_out,
        old_guests=booking.guests,
        check_in=check_in,
        check_out=check_out,
        guests=guests,
        price=quote_json(quote),
        old_total=booking.total,
        total=quote.total,
        difference=difference,
        currency=quote.currency,
        refund_when_asked=refund_now,
        idempotency_key=idempotency_key,
        request_hash=digest,
    )
    try:
        await row.save()
    except Exception as exc:
        if caused_by(exc, asyncpg.exceptions.UniqueViolationError):
            twin = await BookingChange.objects().get(
                (BookingChange.booking == booking.id) & (BookingChange.idempotency_key == idempotency_key)
            )
            if twin is not None and twin.request_hash == digest:  # the same request, racing itself
                return await _answer(twin.id)
            raise Problem(409, "Another change of this booking is still open.", slug="change-in-progress") from exc
        raise
    await _hand_over(temporal, booking, row)
    return await _answer(row.id)


LOST_AFTER = timedelta(minutes=2)
CHANGE_WITHIN = timedelta(seconds=10)
"""How long a change waits for the run's answer before the 503 that asks for the same request again."""


async def _lost(temporal: TemporalGateway, row: BookingChange) -> bool:
    """A change recorded but never handed to the booking's run (the API stopped in between, or
    the run was unreachable): after a while it is marked failed, so it blocks no later change."""
    if row.status != "requested" or dt.datetime.now(dt.UTC) - row.created_at < LOST_AFTER:
        return False
    handle = (await temporal.client()).get_workflow_handle(booking_workflow_id(row.booking))
    try:
        if await handle.query(BookingWorkflow.knows_change, row.number):
            return False
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            return False  # cannot tell: keep it open
    await BookingChange.update(
        {BookingChange.status: "failed", BookingChange.status_reason: "The request never reached the booking."}
    ).where((BookingChange.id == row.id) & (BookingChange.status == "requested"))
    return True


async def _hand_over(temporal: TemporalGateway, booking: Booking, row: BookingChange) -> None:
    """Send the change to the booking's workflow and wait for its answer."""
    listing = await Listing.objects().get(Listing.id == booking.listing)
    needs_host = listing is not None and not listing.instant_book
    clock = (await booking_terms(booking)).clock
    request = ChangeRequest(
        booking_id=str(booking.id),
        number=row.number,
        guest_id=str(booking.guest),
        check_in=row.check_in.isoformat(),
        check_out=row.check_out.isoformat(),
        needs_host=needs_host,
        summary=_summary(row.check_in, row.check_out, row.guests, row.difference, row.currency),
        total=row.total,
        check_in_at=clock.night_starts(row.check_in).isoformat(),
        check_out_at=clock.stay_ends(row.check_out).isoformat(),
    )
    handle = (await temporal.client()).get_workflow_handle(booking_workflow_id(booking.id))
    try:
        # The update's id makes a repeated request join the first one instead of racing it.
        await bounded(
            handle.execute_update(
                BookingWorkflow.modify, request, id=f"change-{row.number}", rpc_timeout=CHANGE_WITHIN
            ),
            CHANGE_WITHIN,
        )
    except (WorkflowUpdateRPCTimeoutOrCancelledError, TemporalUnavailable) as exc:
        raise Problem(
            503,
            "The change is taking long; repeat the request with the same Idempotency-Key to see how it went.",
            slug="unavailable",
            headers={"Retry-After": "10"},
        ) from exc
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:  # unknown whether it arrived: the same request again is safe
            raise Problem(
                503,
                "Changes are unavailable right now; repeat the request with the same Idempotency-Key.",
                headers={"Retry-After": "5"},
            ) from exc
        reason = "the booking's process has ended"
        await BookingChange.update(
            {BookingChange.status: "failed", BookingChange.status_reason: f"Refused: {reason}"}
        ).where((BookingChange.id == row.id) & (BookingChange.status == "requested"))
        raise Problem(409, f"This booking cannot be changed: {reason}.", slug="illegal-transition") from exc
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        reason = getattr(cause, "message", None) or str(cause or exc)
        await BookingChange.update(
            {BookingChange.status: "failed", BookingChange.status_reason: f"Refused: {reason}"}
        ).where((BookingChange.id == row.id) & (BookingChange.status == "requested"))
        raise Problem(409, f"This booking cannot be changed: {reason}.", slug="illegal-transition") from exc


async def _answer(change_id: Any) -> ChangeAnswer:
    row = await BookingChange.objects().get(BookingChange.id == change_id)
    assert row is not None
    if row.status == "withdrawn":
        raise Problem(409, "The booking was cancelled before the change was made.", slug="illegal-transition")
    if row.status == "failed":
        slugs = {"card_declined": (402, "payment-declined"), "dates_taken": (409, "dates-unavailable")}
        status, slug = slugs.get(row.failure_code or "", (409, "illegal-transition"))
        raise Problem(status, f"The booking was not changed: {row.status_reason}", slug=slug)
    booking = await Booking.objects().get(Booking.id == row.booking)
    assert booking is not None
    return ChangeAnswer(
        change=change_read(row), booking=await booking_read(booking, viewer=booking.guest)
    )  # only its guest changes a booking
