"""Booking a stay, the host's answer and cancelling: the business process behind the endpoints.

A booking is priced (the same `priced_stay` as quotes), recorded holding its nights
(PostgreSQL's exclusion constraint refuses a second holder: 409) and handed to its
BookingWorkflow, which moves every cent in its activities. Each function takes plain typed
inputs and raises `Problem` for what the caller must hear; Temporal's and PostgreSQL's other
failures are mapped once, in `api/errors.py`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from datetime import timedelta
from typing import Any, Literal
from uuid import UUID

import asyncpg
import msgspec
from temporalio.client import (
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from api.accounts.verification import require_verified_email
from api.bookings.reads import (
    booking_payment,
    booking_read,
    booking_terms,
    change_history,
    load_booking_for,
    paid_stay,
)
from api.bookings.schemas import BookingCreate, BookingRead, CancelAnswer, RefundRead
from api.calendar.service import current_platform, priced_stay
from api.errors import Problem, caused_by, invalid
from api.listings.service import load_bookable_listing
from api.security import CurrentUser
from models import Booking, BookingChange, Payment
from stayflow.audit import Actor, record_admin_action
from stayflow.rules.booking_status import CANCELLABLE, UNCONFIRMED, WAS_CAPTURED, BookingStatus, PaymentStatus
from stayflow.rules.change_refunds import refund_under_rule
from stayflow.rules.pricing import quote_json
from stayflow.rules.refunds import Canceller, Policy, credit_lines, refund_for_cancellation
from stayflow.rules.terms import BookingTerms, terms_json
from stayflow.settings import Settings
from stayflow.temporal import TemporalGateway, TemporalUnavailable, bounded
from workflows.booking import BookingWorkflow, booking_workflow_id
from workflows.payloads.booking import BookingRequest, HostDecision
from workflows.payloads.cancellation import CancellationRequest

DECIDE_WITHIN = timedelta(seconds=8)
"""How long an accept, decline or cancel waits for the run's answer (a capture under way included)
before it answers 503 with Retry-After."""


def request_hash(data: msgspec.Struct) -> str:
    """What an Idempotency-Key was first used with: a retry must send the same."""
    return hashlib.sha256(msgspec.json.encode(data)).hexdigest()


async def create_booking(
    guest: CurrentUser, data: BookingCreate, idempotency_key: str, settings: Settings, temporal: TemporalGateway
) -> BookingRead:
    """Record the booking holding its nights, with its payment, and start its BookingWorkflow
    (`pending_payment`). The same key and body again answer the same booking."""
    digest = request_hash(data)
    replay = await _replay(guest.id, idempotency_key, digest)
    if replay is not None:
        return await booking_read(replay, viewer=guest.id)
    await require_verified_email(guest)
    listing = await load_bookable_listing(data.listing_id, guest)
    if listing.host == guest.id:
        raise invalid("listing_id", "you cannot book your own listing")
    quote = await priced_stay(listing, data.check_in, data.check_out, data.guests)
    platform = await current_platform()
    terms = BookingTerms(
        cancellation_policy=msgspec.convert(listing.cancellation_policy, Policy),
        guest_fee_bps=platform.service_fee_bps,
        host_fee_bps=platform.host_fee_bps,
        tax_bps=platform.tax_bps,
        currency=quote.currency,
        time_zone=listing.time_zone,
        check_in_time=listing.check_in_time,
        check_out_time=listing.check_out_time,
    )
    booking = Booking(
        listing=listing.id,
        guest=guest.id,
        host=listing.host,
        check_in=data.check_in,
        check_out=data.check_out,
        guests=data.guests,
        status=BookingStatus.pending_payment,
        price=quote_json(quote),
        total=quote.total,
        currency=quote.currency,
        payment_method=data.payment_method,
        idempotency_key=idempotency_key,
        request_hash=digest,
        review_window_days=platform.review_window_days,
        terms=terms_json(terms),
    )
    try:
        async with Booking._meta.db.transaction():
            # One booking request of a guest at a time, so the unconfirmed limit holds under races.
            await Booking.raw("SELECT pg_advisory_xact_lock(hashtext({}))", str(guest.id))
            unconfirmed = await Booking.select(Booking.check_in, Booking.check_out).where(
                (Booking.guest == guest.id) & Booking.status.is_in(list(UNCONFIRMED))
            )
            holding = len(unconfirmed)
            if holding >= settings.max_unconfirmed_bookings_per_guest:
                raise Problem(
                    409,
                    f"You already have {holding} unconfirmed bookings; wait for them to settle first.",
                    slug="too-many-unconfirmed",
                )
            held = sum((b["check_out"] - b["check_in"]).days for b in unconfirmed)
            nights = (data.check_out - data.check_in).days
            if held + nights > settings.max_unconfirmed_nights_per_guest:
                raise Problem(
                    409,
                    f"At most {settings.max_unconfirmed_nights_per_guest} nights may wait unconfirmed per guest; "
                    f"you hold {held} and ask for {nights}. Wait for your other bookings to settle first.",
                    slug="too-many-unconfirmed-nights",
                )
            await booking.save()
            await Payment(booking=booking.id, amount=quote.total, currency=quote.currency).save()
    except Exception as exc:
        # Another booking took a night meanwhile: the exclusion violation is answered by api/errors.py.
        if caused_by(exc, asyncpg.exceptions.UniqueViolationError):  # the same key, racing
            replay = await _replay(guest.id, idempotency_key, digest)
            if replay is not None:
                return await booking_read(replay, viewer=guest.id)
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
                check_in_at=terms.clock.night_starts(data.check_in).isoformat(),
                check_out_at=terms.clock.stay_ends(data.check_out).isoformat(),
            ),
            id=booking_workflow_id(booking.id),
            task_queue=settings.task_queue,
            static_summary=f"Booking of “{listing.title}” by {guest.full_name}, {data.check_in} to {data.check_out}",
        )
    except Exception as exc:
        if await _workflow_exists(temporal, booking.id):  # the start went through after all
            return await booking_read(booking, viewer=guest.id)
        # No process, no hold: free the nights rather than leave an orphan booking.
        await Booking.update(
            {
                Booking.status: BookingStatus.payment_failed,
                Booking.status_reason: "The booking could not be started; try again.",
            }
        ).where(Booking.id == booking.id)
        raise Problem(503, "Bookings are unavailable right now; nothing was charged.") from exc
    return await booking_read(booking, viewer=guest.id)


async def _replay(guest_id: UUID, key: str, digest: str) -> Booking | None:
    earlier = await Booking.objects().where((Booking.guest == guest_id) & (Booking.idempotency_key == key)).first()
    if earlier is None:
        return None
    if earlier.request_hash != digest:
        raise Problem(422, "This Idempotency-Key was used with a different request.", slug="idempotency-key-reused")
    return earlier


async def _workflow_exists(temporal: TemporalGateway, booking_id: UUID) -> bool:
    try:
        await (await temporal.client()).get_workflow_handle(booking_workflow_id(booking_id)).describe()
    except Exception:
        return False
    return True


async def decide_booking(host: CurrentUser, booking_id: UUID, accept: bool, temporal: TemporalGateway) -> BookingRead:
    """The host answers whatever awaits them: a booking request, or a guest's change of a
    confirmed booking. Answers once the workflow has applied the answer."""
    booking = await Booking.objects().get(Booking.id == booking_id)
    if booking is None or (booking.host != host.id):
        raise Problem(404, "No such booking.")
    change_waiting = booking.status == BookingStatus.confirmed and await BookingChange.exists().where(
        (BookingChange.booking == booking.id) & (BookingChange.status == "awaiting_host")
    )
    if booking.status != BookingStatus.awaiting_host and not change_waiting:
        raise Problem(409, f"This booking is {booking.status}, not awaiting your answer.", slug="illegal-transition")
    client = await temporal.client()
    try:
        # A refusal by the workflow (WorkflowUpdateFailedError) is answered by api/errors.py: 409.
        outcome = await bounded(
            client.get_workflow_handle(booking_workflow_id(booking_id)).execute_update(
                BookingWorkflow.decide_change if change_waiting else BookingWorkflow.decide,
                HostDecision(accept=accept, host_id=str(host.id)),
                rpc_timeout=DECIDE_WITHIN,
            ),
            DECIDE_WITHIN,
        )
    except (WorkflowUpdateRPCTimeoutOrCancelledError, TemporalUnavailable) as exc:
        # Unknown whether the run took the answer (a worker that is down, Temporal restarting, a
        # slow capture): the same answer again is safe, the run answers it like the first.
        raise Problem(
            503,
            "Your answer could not be confirmed yet; send it again in a moment (the same answer is taken once).",
            slug="unavailable",
            headers={"Retry-After": "5"},
        ) from exc
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise  # Temporal unavailable, or the run's task failing: api/errors.py answers 503
        raise Problem(409, "This booking is no longer awaiting an answer.", slug="illegal-transition") from exc
    if change_waiting and getattr(outcome, "status", "") not in ("applied", "declined"):
        # The host said yes, but the change could not be made (card, nights) or had lapsed.
        reason = getattr(outcome, "reason", "") or f"the change is {getattr(outcome, 'status', 'gone')}"
        raise Problem(409, f"The change was not made: {reason}", slug="change-not-made")
    fresh = await Booking.objects().get(Booking.id == booking_id)
    assert fresh is not None
    return await booking_read(fresh, viewer=host.id)


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
            return await _cancel_answer(booking, _refund_answered(booking, payment), viewer=user.id)
        if booking.cancellation_key.split("#", 1)[0] == idempotency_key:
            raise Problem(422, "This Idempotency-Key was used with a different request.", slug="idempotency-key-reused")
        raise Problem(409, "This booking is already cancelled.", slug="illegal-transition")
    if booking.status not in CANCELLABLE:
        raise Problem(409, f"A booking that is {booking.status} cannot be cancelled.", slug="illegal-transition")
    # The booking's own terms decide (a host switching the listing to strict changes nothing),
    # and a guest's changes compose with them (stayflow.rules.change_refunds).
    terms = await booking_terms(booking)
    decision = refund_for_cancellation(
        paid=paid_stay(booking, terms),
        policy=terms.cancellation_policy,
        cancelled_by=by,
        cancelled_at=dt.datetime.now(dt.UTC),
    )
    if by == "guest":
        decision = refund_under_rule(decision, await change_history(booking))
    captured = payment.status in WAS_CAPTURED
    amount = decision.amount if captured else 0
    lines = credit_lines(decision) if captured else []
    refund = RefundRead(
        amount=amount, currency=payment.currency, method=_refund_method(amount, payment), rule=decision.rule
    )
    async with Booking._meta.db.transaction():
        claimed = (
            await Booking.update(
                {
                    Booking.cancellation_key: claim,
                    Booking.cancelled_by: by,
                    Booking.refund_amount: amount,
                    Booking.refund_lines: lines,
                    Booking.refund_answer: msgspec.to_builtins(refund),
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
        )
    except (WorkflowUpdateRPCTimeoutOrCancelledError, TemporalUnavailable) as exc:
        # Unknown whether the workflow took it: keep the claim; the same request again is safe.
        raise Problem(
            503,
            "The cancellation is taking long; repeat the request with the same Idempotency-Key.",
            slug="unavailable",
            headers={"Retry-After": "5"},
        ) from exc
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            # Temporal unavailable, or the run's workflow task failing ("Workflow Task in failed
            # state"): not a refusal. Keep the claim; the same request again resends it.
            raise Problem(
                503,
                "The cancellation could not be handed over yet; repeat the request with the same Idempotency-Key.",
                slug="unavailable",
                headers={"Retry-After": "5"},
            ) from exc
        await _withdraw_claim(booking, actor, by, amount, str(exc))
        raise Problem(
            409, "This booking's process has ended; it cannot be cancelled.", slug="illegal-transition"
        ) from exc
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause or exc
        await _withdraw_claim(booking, actor, by, amount, str(cause))
        raise Problem(409, str(cause), slug="illegal-transition") from exc
    fresh = await Booking.objects().get(Booking.id == booking.id)
    assert fresh is not None
    return await _cancel_answer(fresh, refund, viewer=user.id)


async def _withdraw_claim(booking: Booking, actor: Actor, by: str, amount: int, reason: str) -> None:
    """The run refused the cancellation: the booking is as it was (an admin's audited claim is
    withdrawn with an audit row too)."""
    async with Booking._meta.db.transaction():
        await Booking.update(
            {
                Booking.cancellation_key: None,
                Booking.cancelled_by: None,
                Booking.refund_amount: None,
                Booking.refund_lines: None,
                Booking.refund_answer: None,
            }
        ).where(Booking.id == booking.id)
        if by == "admin":
            await record_admin_action(
                actor,
                "booking.cancel_refused",
                "booking",
                booking.id,
                before={"cancelled_by": by, "refund_amount": amount},
                after={"cancelled_by": None, "refund_amount": None},
                reason=reason,
            )


async def _hand_over_cancellation(handle: WorkflowHandle[Any, Any], request: CancellationRequest) -> None:
    """Send the `cancel` update: it answers once the run has taken the cancellation (after any
    capture under way), and a refusal raises WorkflowUpdateFailedError with the run's reason.
    Bounded: with the worker or Temporal stuck, TemporalUnavailable after a few seconds."""
    await bounded(handle.execute_update(BookingWorkflow.cancel, request), DECIDE_WITHIN)


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
            raise  # the run refused: api/errors.py answers 409 with its reason


def _refund_method(amount: int, payment: Payment) -> Literal["refund", "void", "none"]:
    if amount:
        return "refund"
    return "void" if payment.status in (PaymentStatus.authorized, PaymentStatus.voided) else "none"


def _refund_answered(booking: Booking, payment: Payment) -> RefundRead:
    """The refund exactly as the first answer gave it (claims from before it was stored: derived again)."""
    if booking.refund_answer is not None:
        stored = booking.refund_answer if isinstance(booking.refund_answer, dict) else json.loads(booking.refund_answer)
        return msgspec.convert(stored, RefundRead)
    amount = booking.refund_amount or 0
    rule = "as decided when the cancellation was made"
    return RefundRead(amount=amount, currency=payment.currency, method=_refund_method(amount, payment), rule=rule)


async def _cancel_answer(booking: Booking, refund: RefundRead, *, viewer: UUID) -> CancelAnswer:
    return CancelAnswer(booking=await booking_read(booking, viewer=viewer), refund=refund)
