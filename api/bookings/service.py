"""Booking a stay, the host's answer and cancelling: the business process behind the endpoints.

A booking is priced (the same `priced_stay` as quotes) here, then placed by its own
BookingWorkflow (update-with-start): the run's first step records it holding its nights
(PostgreSQL's exclusion constraint refuses a second holder: 409), and the run moves every cent
in its activities. Each function takes plain typed
inputs and raises `Problem` for what the caller must hear; Temporal's and PostgreSQL's other
failures are mapped once, in `api/errors.py`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any, Literal
from uuid import UUID

import msgspec
from temporalio.client import (
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
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
from api.calendar.service import PREPARATION_SLUG, current_platform, priced_stay, pricing_rules
from api.errors import Problem, invalid
from api.listings.service import load_bookable_listing
from api.security import CurrentUser
from models import Booking, BookingChange, Payment
from stayflow.audit import Actor, record_admin_action
from stayflow.rules.booking_status import CANCELLABLE, WAS_CAPTURED, BookingStatus, PaymentStatus
from stayflow.rules.change_refunds import refund_under_rule
from stayflow.rules.pricing import quote_json
from stayflow.rules.refunds import Canceller, Policy, credit_lines, refund_for_cancellation
from stayflow.rules.terms import BookingTerms, terms_json
from stayflow.settings import Settings
from stayflow.temporal import TemporalGateway, TemporalUnavailable, bounded
from workflows.booking import BookingWorkflow, booking_workflow_id
from workflows.payloads.booking import BookingRequest, HostDecision, Placement, PlacementOutcome, PlacementResult
from workflows.payloads.cancellation import CancellationRequest

DECIDE_WITHIN = timedelta(seconds=8)
"""How long an accept, decline or cancel waits for the run's answer (a capture under way included)
before it answers 503 with Retry-After."""


def request_hash(data: msgspec.Struct) -> str:
    """What an Idempotency-Key was first used with: a retry must send the same."""
    return hashlib.sha256(msgspec.json.encode(data)).hexdigest()


BOOKING_IDS = uuid.UUID("6f1d2c1e-4b1a-5c3e-9a57-5b0c0c0a8f15")
PLACE_ANSWER = 10.0
"""Seconds the API waits for the booking's run to answer `place` before it answers 503."""


def booking_id_for(guest_id: UUID, idempotency_key: str) -> UUID:
    """The booking a guest's request makes: the same key, the same booking (and workflow id)."""
    return uuid.uuid5(BOOKING_IDS, f"{guest_id}:{idempotency_key}")


async def create_booking(
    guest: CurrentUser, data: BookingCreate, idempotency_key: str, settings: Settings, temporal: TemporalGateway
) -> BookingRead:
    """Start (or join) the booking's BookingWorkflow and send it the `place` update in one call
    (update-with-start): the run's first step inserts the booking holding its nights, so a booking
    row never exists without its process. The same key and body again join the same run and get
    the same answer: the booking (`pending_payment` or later), or the same refusal."""
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
        pricing=pricing_rules(listing),
    )
    booking_id = booking_id_for(guest.id, idempotency_key)
    placement = Placement(
        booking_id=str(booking_id),
        listing_id=str(listing.id),
        guest_id=str(guest.id),
        host_id=str(listing.host),
        check_in=data.check_in.isoformat(),
        check_out=data.check_out.isoformat(),
        guests=data.guests,
        price=quote_json(quote),
        total=quote.total,
        currency=quote.currency,
        payment_method=data.payment_method,
        idempotency_key=idempotency_key,
        request_hash=digest,
        review_window_days=platform.review_window_days,
        terms=terms_json(terms),
        max_unconfirmed=settings.max_unconfirmed_bookings_per_guest,
        max_unconfirmed_nights=settings.max_unconfirmed_nights_per_guest,
    )
    start = WithStartWorkflowOperation(
        BookingWorkflow.run,
        BookingRequest(
            booking_id=str(booking_id),
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
            await_placement=True,
            request_hash=digest,
            check_in_at=terms.clock.night_starts(data.check_in).isoformat(),
            check_out_at=terms.clock.stay_ends(data.check_out).isoformat(),
        ),
        id=booking_workflow_id(booking_id),
        task_queue=settings.task_queue,
        # A repeat joins the running run; an ended run is never started again (its result is the answer).
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        memo={"request_hash": digest},
        static_summary=f"Booking of “{listing.title}” by {guest.full_name}, {data.check_in} to {data.check_out}",
    )
    try:
        client = await temporal.client()
        outcome: PlacementOutcome = await asyncio.wait_for(
            client.execute_update_with_start_workflow(
                BookingWorkflow.place, placement, start_workflow_operation=start, id=f"place-{digest[:32]}"
            ),
            timeout=PLACE_ANSWER,
        )
    except WorkflowAlreadyStartedError:
        outcome = await _ended_placement(temporal, booking_id, digest)
    except WorkflowUpdateFailedError as exc:
        kind = getattr(exc.cause, "type", "")
        if kind == "KeyReused":
            raise Problem(
                422, "This Idempotency-Key was used with a different request.", slug="idempotency-key-reused"
            ) from exc
        raise Problem(409, str(getattr(exc.cause, "message", "") or exc), slug="idempotency-key-expired") from exc
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError, RPCError) as exc:
        # Unknown whether the run took it: a repeat with the same key joins it and learns the answer.
        raise Problem(
            503,
            "We could not confirm the booking in time. Repeat the request with the same Idempotency-Key "
            "to learn whether it was made; you are charged at most once.",
            slug="unavailable",
            headers={"Retry-After": "5"},
        ) from exc
    return await _placement_answer(outcome, booking_id, guest.id)


async def _ended_placement(temporal: TemporalGateway, booking_id: UUID, digest: str) -> PlacementOutcome:
    """A repeat after the booking's run ended: the booking if it was placed, else the run's refusal."""
    if await Booking.exists().where(Booking.id == booking_id):
        return PlacementOutcome("placed")
    handle = (await temporal.client()).get_workflow_handle(booking_workflow_id(booking_id))
    described = await handle.describe(rpc_timeout=timedelta(seconds=5))
    if await described.memo_value("request_hash", "") != digest:
        return PlacementOutcome("key_reused")
    result = await handle.result(rpc_timeout=timedelta(seconds=5))
    refusals: dict[str, PlacementResult] = {
        "dates_taken": "dates_taken",
        "preparation_time": "preparation_time",
        "too_many_unconfirmed": "too_many_unconfirmed",
        "key_reused": "key_reused",
    }
    return PlacementOutcome(refusals.get(str(result), "expired"))


async def _placement_answer(outcome: PlacementOutcome, booking_id: UUID, viewer: UUID) -> BookingRead:
    if outcome.outcome == "placed":
        booking = await Booking.objects().get(Booking.id == booking_id)
        assert booking is not None  # inserted by the run before it answered
        return await booking_read(booking, viewer=viewer)
    if outcome.outcome == "dates_taken":
        raise Problem(409, "Those dates were just taken.", slug="dates-unavailable")
    if outcome.outcome == "preparation_time":
        detail = outcome.message or "The host keeps nights next to another stay free to prepare the home."
        raise Problem(409, detail, slug=PREPARATION_SLUG)
    if outcome.outcome == "too_many_unconfirmed":
        raise Problem(
            409,
            outcome.message or "You already have too many unconfirmed bookings; wait for them to settle first.",
            slug="too-many-unconfirmed",
        )
    if outcome.outcome == "too_many_unconfirmed_nights":
        raise Problem(409, outcome.message, slug="too-many-unconfirmed-nights")
    if outcome.outcome == "key_reused":
        raise Problem(422, "This Idempotency-Key was used with a different request.", slug="idempotency-key-reused")
    raise Problem(
        409,
        "This request expired before the booking was made; send it with a new Idempotency-Key.",
        slug="idempotency-key-expired",
    )


async def _replay(guest_id: UUID, key: str, digest: str) -> Booking | None:
    earlier = await Booking.objects().where((Booking.guest == guest_id) & (Booking.idempotency_key == key)).first()
    if earlier is None:
        return None
    if earlier.request_hash != digest:
        raise Problem(422, "This Idempotency-Key was used with a different request.", slug="idempotency-key-reused")
    return earlier


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
    claim = cancellation_claim(idempotency_key, by, reason)
    if booking.cancellation_key is not None:
        same = booking.cancellation_key == claim
        if not same and booking.cancellation_key.split("#", 1)[0] == idempotency_key:
            raise Problem(422, "This Idempotency-Key was used with a different request.", slug="idempotency-key-reused")
        taken = booking.status not in CANCELLABLE
        if not taken:
            # The claim may never have reached the run (the API stopped in between): send it as it
            # was decided. One that no longer fits the booking is withdrawn and decided afresh below.
            taken = await _resend_cancellation(
                temporal,
                booking,
                payment,
                booking.cancelled_by or by,
                reason if same else "as asked in an earlier request",
            )
            if not taken:
                await _withdraw_claim(
                    booking.id,
                    booking.cancellation_key,
                    booking.cancelled_by,
                    booking.refund_amount,
                    actor,
                    "the claimed cancellation no longer fit the booking",
                )
                booking = await load_booking_for(booking_id, user)
                payment = await booking_payment(booking.id)
        if taken:
            if same:
                return await _cancel_answer(booking, _refund_answered(booking, payment), viewer=user.id)
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
        await _withdraw_claim(booking.id, claim, by, amount, actor, str(exc))
        raise Problem(
            409, "This booking's process has ended; it cannot be cancelled.", slug="illegal-transition"
        ) from exc
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause or exc
        await _withdraw_claim(booking.id, claim, by, amount, actor, str(cause))
        raise Problem(409, str(cause), slug="illegal-transition") from exc
    fresh = await Booking.objects().get(Booking.id == booking.id)
    assert fresh is not None
    return await _cancel_answer(fresh, refund, viewer=user.id)


def cancellation_claim(idempotency_key: str, by: str, reason: str) -> str:
    """What a cancellation request writes on the booking: its key and what it asked."""
    return f"{idempotency_key}#{hashlib.sha256(f'{by}:{reason}'.encode()).hexdigest()[:24]}"


async def _hand_over_cancellation(handle: WorkflowHandle[Any, Any], request: CancellationRequest) -> None:
    """Send the `cancel` update: it answers once the run has taken the cancellation (after any
    capture under way), and a refusal raises WorkflowUpdateFailedError with the run's reason.
    Bounded: with the worker or Temporal stuck, TemporalUnavailable after a few seconds."""
    await bounded(handle.execute_update(BookingWorkflow.cancel, request), DECIDE_WITHIN)


async def _withdraw_claim(
    booking_id: UUID, claim: str, by: str | None, amount: int | None, actor: Actor, why: str
) -> None:
    """The run refused the claimed cancellation: nothing stays claimed (an admin's claim was
    audited, so is its withdrawal)."""
    async with Booking._meta.db.transaction():
        withdrawn = (
            await Booking.update(
                {
                    Booking.cancellation_key: None,
                    Booking.cancelled_by: None,
                    Booking.refund_amount: None,
                    Booking.refund_lines: None,
                    Booking.refund_answer: None,
                }
            )
            .where((Booking.id == booking_id) & (Booking.cancellation_key == claim))
            .returning(Booking.id)
        )
        if withdrawn and by == "admin":
            await record_admin_action(
                actor,
                "booking.cancel_refused",
                "booking",
                booking_id,
                before={"cancelled_by": by, "refund_amount": amount},
                after={"cancelled_by": None, "refund_amount": None},
                reason=why,
            )


async def _resend_cancellation(
    temporal: TemporalGateway, booking: Booking, payment: Payment, by: str, reason: str
) -> bool:
    """Send the cancellation claimed on the booking (again); whether the run has it now. False:
    it no longer fits (the payment was captured after the refund was decided, or the run refused)."""
    amount = booking.refund_amount or 0
    stored = json.loads(booking.refund_lines) if isinstance(booking.refund_lines, str) else booking.refund_lines
    captured = payment.status in WAS_CAPTURED
    if captured and not amount and not stored:
        return False  # decided on an uncaptured hold, which has been captured since
    request = CancellationRequest(
        booking_id=str(booking.id),
        cancelled_by=by,
        reason=reason,
        refund=amount,
        lines=stored if stored is not None else [{"description": "Refund", "amount": amount}] if amount else [],
        captured=captured,
        total=booking.total,
    )
    handle = (await temporal.client()).get_workflow_handle(booking_workflow_id(booking.id))
    try:
        await _hand_over_cancellation(handle, request)
    except WorkflowUpdateFailedError as exc:
        return "already being cancelled" in str(exc.cause or exc)
    return True


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
