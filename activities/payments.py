"""Money through the payment provider: the one place that holds, captures, voids and refunds
(`stayflow.providers.payments`) and writes `payments` and `ledger_entries` rows. The booking,
change and cancellation processes all move money through `PaymentActivities`.

Every activity is idempotent. Stripe calls carry keys derived from the booking
(`booking-<id>-authorize|capture|void|refund-cancellation`, a change's
`booking-<id>-change-<n>-authorize|capture|void|refund[-<sequence>]`), ledger rows carry dedupe
keys (one per payment, kind and operation), and a payment's status and its ledger row are
written in one transaction: a worker killed at any point, then retried, never charges twice
and never writes a second ledger row. A retry also repairs what a kill left half done: a status
that has no ledger row yet gets it (rows an older build wrote in two steps), and a capture or void
that Stripe made but we never recorded is read back from Stripe and recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.bookings import booking_and_payment
from activities.changes import change_operation, load_change
from activities.documents import issue_cancellation_credit_note
from activities.ledger import record_capture, record_refund
from activities.payouts import reverse_overpaid_payout, schedule_payout, start_payout_workflow
from models import Booking, BookingChange, LedgerEntry, Payment
from stayflow.providers.payments import Authorization, PaymentProviderError, PaymentRejected, StripePayments
from stayflow.rules.booking_status import CAPTURED, WAS_CAPTURED, BookingStatus, PaymentStatus
from workflows.payloads.booking import AuthorizationOutcome, BookingRef
from workflows.payloads.cancellation import Settlement, SettlementResult
from workflows.payloads.change import ChangeRef


def stripe_key(booking_id: str, step: str) -> str:
    """The idempotency key of one Stripe call of a booking's processes."""
    return f"booking-{booking_id}-{step}"


class PaymentActivities:
    def __init__(self, payments: StripePayments) -> None:
        self.payments = payments

    # -- the provider and the rows ------------------------------------------------------------

    async def _provider(self, call: Any) -> Any:
        try:
            return await call
        except PaymentRejected as exc:
            raise ApplicationError(str(exc), type="PaymentRejected", non_retryable=True) from exc
        except PaymentProviderError:
            raise  # Stripe is down or erring: Temporal retries with backoff, same idempotency key

    async def _ledger(
        self, booking: Booking, payment: Payment, kind: str, amount: int, ref: str, operation: str = ""
    ) -> bool:
        """Append one row, once per payment, kind and operation; True when this call wrote it."""
        rows = await LedgerEntry.raw(
            """INSERT INTO ledger_entries (id, payment, booking, guest, kind, amount, currency, provider_ref,
                                           dedupe_key, created_at)
               VALUES (gen_random_uuid(), {}, {}, {}, {}, {}, {}, {}, {}, now())
               ON CONFLICT (dedupe_key) DO NOTHING RETURNING id""",
            payment.id,
            booking.id,
            booking.guest,
            kind,
            amount,
            payment.currency,
            ref,
            f"{payment.id}:{kind}" + (f":{operation}" if operation else ""),
        )
        return bool(rows)

    async def _was_held(self, payment: Payment) -> bool:
        """Whether the ledger records a hold of this payment (a 3-D Secure attempt voided before it
        held anything has none, and so needs no void row)."""
        return bool(await LedgerEntry.exists().where(LedgerEntry.dedupe_key == f"{payment.id}:authorization"))

    async def _set(self, payment: Payment, **changes: Any) -> None:
        values = {getattr(Payment, k): v for k, v in changes.items()} | {Payment.updated_at: dt.datetime.now(dt.UTC)}
        await Payment.update(values).where(Payment.id == payment.id)

    async def _set_and_post(
        self, booking: Booking, payment: Payment, kind: str, amount: int, ref: str, **changes: Any
    ) -> None:
        """A payment's new status and the ledger row that records it, together or not at all."""
        async with Payment._meta.db.transaction():
            await self._set(payment, **changes)
            await self._ledger(booking, payment, kind, amount, ref)

    async def _record_capture(self, booking: Booking, payment: Payment, captured: int, **changes: Any) -> None:
        """A capture's status, its ledger row, the books and (for the booking's own payment) the
        host's payout: together or not at all, and each written once (safe to repeat)."""
        async with Payment._meta.db.transaction():
            if changes:
                await self._set(payment, **changes)
            await self._ledger(booking, payment, "capture", captured, payment.intent_id or "")
            await record_capture(booking, payment.id, captured)
            if payment.sequence == 0:
                await schedule_payout(booking)

    async def _record_refund(self, booking: Booking, payment: Payment, amount: int, ref: str, operation: str) -> None:
        """The ledger row and the payment's refunded total move together, once per operation."""
        async with Payment._meta.db.transaction():
            if not await self._ledger(booking, payment, "refund", amount, ref, operation):
                return  # already recorded by an earlier attempt
            await record_refund(booking, f"{payment.id}:{operation}", amount)  # the books, same transaction
            rows = await Payment.raw(
                "UPDATE payments SET refunded = refunded + {}, updated_at = now() WHERE id = {} RETURNING refunded",
                amount,
                payment.id,
            )
            refunded = rows[0]["refunded"]
            status = PaymentStatus.refunded if refunded >= payment.amount else PaymentStatus.partially_refunded
            await Payment.update({Payment.status: status}).where(Payment.id == payment.id)

    # -- one way to hold, capture, void and refund, whichever process asks ----------------------

    async def _hold(
        self,
        booking: Booking,
        payment: Payment,
        *,
        idempotency_key: str,
        metadata: dict[str, str],
        declined: str | None = None,
    ) -> Authorization:
        """Hold the payment's amount on the guest's card (PaymentIntent, manual capture) and record
        a hold or a decline (`declined`: the message when Stripe gives none). A card asking for
        3-D Secure is the caller's to handle."""
        result: Authorization = await self._provider(
            self.payments.authorize(
                amount=payment.amount,
                currency=payment.currency,
                payment_method=booking.payment_method,
                idempotency_key=idempotency_key,
                metadata=metadata,
            )
        )
        if result.outcome == "authorized":
            await self._set_and_post(
                booking, payment, "authorization", payment.amount, result.intent_id or "",
                intent_id=result.intent_id, status=PaymentStatus.authorized,
            )  # fmt: skip
        elif result.outcome == "declined":
            message = result.decline_message or declined
            await self._set(payment, intent_id=result.intent_id, status=PaymentStatus.failed, failure_message=message)
        return result

    async def capture(self, booking: Booking, payment: Payment, idempotency_key: str) -> int:
        """Take one held payment (the booking's own or a change's): Stripe, then its status and
        ledger row. Repeating it captures nothing twice."""
        if payment.status == PaymentStatus.completed:
            await self._record_capture(booking, payment, payment.amount)  # repairs what a kill left unwritten
            return payment.amount
        if payment.status != PaymentStatus.authorized:
            raise ApplicationError(f"cannot capture a payment that is {payment.status}", non_retryable=True)
        try:
            captured = await self._provider(
                self.payments.capture(intent_id=payment.intent_id or "", idempotency_key=idempotency_key)
            )
        except ApplicationError:
            # Stripe refuses to capture twice: if an earlier attempt's capture went through (its
            # answer lost with the worker), record it now instead of failing a paid booking.
            if await self._provider(self.payments.status(payment.intent_id or "")) != "succeeded":
                raise
            captured = payment.amount
        await self._record_capture(booking, payment, int(captured), status=PaymentStatus.completed)
        return int(captured)

    async def void(self, booking: Booking, payment: Payment, idempotency_key: str) -> None:
        """Release one uncaptured hold (nothing to do for a payment that is not held)."""
        if payment.status == PaymentStatus.voided and await self._was_held(payment):
            await self._ledger(booking, payment, "void", payment.amount, payment.intent_id or "")  # repair
        if payment.status != PaymentStatus.authorized:
            return
        try:
            await self._provider(self.payments.void(intent_id=payment.intent_id or "", idempotency_key=idempotency_key))
        except ApplicationError:
            # Stripe refuses to cancel an intent it already cancelled (an expired hold): that is void too.
            if await self._provider(self.payments.status(payment.intent_id or "")) != "canceled":
                raise
        await self._set_and_post(
            booking, payment, "void", payment.amount, payment.intent_id or "", status=PaymentStatus.voided
        )

    async def refund_across_payments(self, booking: Booking, amount: int, *, stripe_step: str, operation: str) -> None:
        """Give `amount` back from the booking's captured payments, the latest first (a change's
        extra charge before the booking's own payment).

        Safe to repeat: a payment's share is recorded once per operation, and what is still to
        give back is worked out from those records, so a retry after a crash makes the same
        Stripe calls with the same idempotency keys (`booking-<id>-<step>[-<sequence>]`)."""
        payments = (
            await Payment.objects().where(Payment.booking == booking.id).order_by(Payment.sequence, ascending=False)
        )
        keys = {p.id: f"{p.id}:refund" + (f":{operation}" if operation else "") for p in payments}
        done = {
            row["payment"]: row["amount"]
            for row in await LedgerEntry.select(LedgerEntry.payment, LedgerEntry.amount).where(
                LedgerEntry.dedupe_key.is_in(list(keys.values()) or [""])
            )
        }
        remaining = amount - sum(done.values())
        capacity = sum(p.amount - p.refunded for p in payments if p.id not in done and p.status in CAPTURED)
        if remaining > capacity:  # refuse before any money moves, never half way
            raise ApplicationError(f"{remaining} to refund, only {capacity} captured", non_retryable=True)
        for payment in payments:
            if remaining <= 0:
                break
            if payment.id in done or payment.status not in CAPTURED:
                continue
            share = min(remaining, payment.amount - payment.refunded)
            if share <= 0:
                continue
            step = stripe_step if payment.sequence == 0 else f"{stripe_step}-{payment.sequence}"
            refund_id = await self._provider(
                self.payments.refund(
                    intent_id=payment.intent_id or "", amount=share, idempotency_key=stripe_key(str(booking.id), step)
                )
            )
            await self._record_refund(booking, payment, share, str(refund_id), operation)
            remaining -= share
        if remaining > 0:
            raise ApplicationError(f"{remaining} more to refund than was captured", non_retryable=True)

    async def _reverse_overpaid(self, booking_id: str) -> None:
        """A refund after the host was paid takes the host's overpaid share back (Transfer reversal)."""
        booking, _ = await booking_and_payment(booking_id)
        await self._provider(reverse_overpaid_payout(self.payments, booking))

    # -- the booking's own payment ------------------------------------------------------------------

    @activity.defn
    async def authorize_payment(self, ref: BookingRef) -> AuthorizationOutcome:
        """Hold the stay's total on the guest's card (PaymentIntent, manual capture)."""
        booking, payment = await booking_and_payment(ref.booking_id)
        if payment.status in (PaymentStatus.authorized, PaymentStatus.completed):
            await self._ledger(booking, payment, "authorization", payment.amount, payment.intent_id or "")  # repair
            return AuthorizationOutcome("authorized")
        if booking.status != BookingStatus.pending_payment:
            return AuthorizationOutcome("declined", "The booking was withdrawn before payment.")
        if payment.status == PaymentStatus.failed:
            return AuthorizationOutcome("declined", payment.failure_message or "")
        try:
            result = await self._hold(
                booking,
                payment,
                idempotency_key=stripe_key(ref.booking_id, "authorize"),
                metadata={"booking_id": ref.booking_id, "listing_id": str(booking.listing)},
            )
        except ApplicationError as exc:
            if exc.type != "PaymentRejected":
                raise
            # Stripe refused the request itself (an unknown payment method, say): nothing is held,
            # so the booking fails like a decline and its nights are freed.
            message = f"The payment method was refused: {exc.message}"
            await self._set(payment, status=PaymentStatus.failed, failure_message=message)
            return AuthorizationOutcome("declined", message)
        if result.outcome == "requires_action":  # the guest confirms in the browser; the webhook tells us
            await self._set(payment, intent_id=result.intent_id, client_secret=result.client_secret)
        return AuthorizationOutcome(result.outcome, result.decline_message or "")

    @activity.defn
    async def confirm_authentication(self, ref: BookingRef) -> AuthorizationOutcome:
        """After 3-D Secure (or its deadline): ask Stripe whether the hold is now in place."""
        booking, payment = await booking_and_payment(ref.booking_id)
        if payment.status == PaymentStatus.authorized:
            return AuthorizationOutcome("authorized")
        status = await self._provider(self.payments.status(payment.intent_id or ""))
        if status == "requires_capture":
            await self._set_and_post(
                booking, payment, "authorization", payment.amount, payment.intent_id or "",
                status=PaymentStatus.authorized, client_secret=None,
            )  # fmt: skip
            return AuthorizationOutcome("authorized")
        if status in ("requires_action", "requires_payment_method", "requires_confirmation"):
            # Abandoned: release the hold attempt so it cannot be completed later.
            key = stripe_key(ref.booking_id, "void")
            await self._provider(self.payments.void(intent_id=payment.intent_id or "", idempotency_key=key))
        message = "The card was not authenticated in time."
        await self._set(payment, status=PaymentStatus.failed, failure_message=message, client_secret=None)
        return AuthorizationOutcome("declined", message)

    @activity.defn
    async def capture_payment(self, ref: BookingRef) -> int:
        """Take the held total; the booking's payout (`payout-<booking id>`) starts with it."""
        booking, payment = await booking_and_payment(ref.booking_id)
        captured = await self.capture(booking, payment, stripe_key(ref.booking_id, "capture"))
        await start_payout_workflow(ref.booking_id)  # also after a retry that found it captured
        return captured

    @activity.defn
    async def void_payment(self, ref: BookingRef) -> None:
        """Release an uncaptured hold (declined, expired, cancelled before capture)."""
        booking, payment = await booking_and_payment(ref.booking_id)
        await self.void(booking, payment, stripe_key(ref.booking_id, "void"))

    @activity.defn
    async def release_hold(self, ref: BookingRef) -> str:
        """Release whatever the booking's own payment holds or could still hold, for a booking that
        ends without its process (the reconciler): void a hold, cancel a 3-D Secure attempt still
        open (so a late confirmation cannot hold money). `voided`, or `nothing` (never held)."""
        booking, payment = await booking_and_payment(ref.booking_id)
        key = stripe_key(ref.booking_id, "void")
        if payment.status in (PaymentStatus.authorized, PaymentStatus.voided):
            await self.void(booking, payment, key)  # (a voided one: repairs its ledger row if a kill lost it)
            return "voided"
        if payment.status == PaymentStatus.pending and payment.intent_id:
            await self._provider(self.payments.void(intent_id=payment.intent_id, idempotency_key=key))
            await self._set(payment, status=PaymentStatus.voided, client_secret=None)
            return "voided"
        return "nothing"

    # -- a change's difference ------------------------------------------------------------------

    @staticmethod
    def _change_key(ref: ChangeRef, step: str) -> str:
        return stripe_key(ref.booking_id, f"{change_operation(ref.number)}-{step}")

    async def _change_payment(self, booking: Booking, change: BookingChange) -> Payment:
        """The change's extra charge (payment sequence n), created pending on first use."""
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
        booking, change = await load_change(ref)
        if change.difference <= 0:
            return AuthorizationOutcome("authorized")
        payment = await self._change_payment(booking, change)
        if payment.status in (PaymentStatus.authorized, PaymentStatus.completed):
            return AuthorizationOutcome("authorized")
        if payment.status in (PaymentStatus.failed, PaymentStatus.voided):
            return AuthorizationOutcome("declined", payment.failure_message or "The card was declined.")
        result = await self._hold(
            booking,
            payment,
            idempotency_key=self._change_key(ref, "authorize"),
            metadata={"booking_id": ref.booking_id, "change": str(ref.number)},
            declined="The card was declined.",
        )
        if result.outcome == "authorized":
            return AuthorizationOutcome("authorized")
        message = result.decline_message or "The card was declined."
        if result.outcome == "requires_action":
            # Nobody is there to confirm a change's charge in the browser: release the attempt.
            await self._provider(
                self.payments.void(intent_id=result.intent_id or "", idempotency_key=self._change_key(ref, "void"))
            )
            message = "The card asks for your confirmation; book the extra nights separately."
            await self._set(payment, intent_id=result.intent_id, status=PaymentStatus.failed, failure_message=message)
        return AuthorizationOutcome("declined", message)

    @activity.defn
    async def capture_change(self, ref: ChangeRef) -> int:
        booking, change = await load_change(ref)
        if change.difference <= 0:
            return 0
        payment = await self._change_payment(booking, change)
        return await self.capture(booking, payment, self._change_key(ref, "capture"))

    @activity.defn
    async def void_change(self, ref: ChangeRef) -> None:
        """Release the hold of a change that could not be made."""
        booking, change = await load_change(ref)
        payment = await Payment.objects().get((Payment.booking == booking.id) & (Payment.sequence == change.number))
        if payment is not None:
            await self.void(booking, payment, self._change_key(ref, "void"))

    @activity.defn
    async def refund_change(self, ref: ChangeRef) -> int:
        """Give back what the changed stay costs less, from the captured payments, the latest first."""
        booking, change = await load_change(ref)
        if change.difference >= 0:
            return 0
        await self.refund_across_payments(
            booking,
            -change.difference,
            stripe_step=f"{change_operation(ref.number)}-refund",
            operation=change_operation(ref.number),
        )
        await self._reverse_overpaid(ref.booking_id)
        return -change.difference

    # -- a cancellation ---------------------------------------------------------------------------

    @activity.defn
    async def settle_cancellation(self, settlement: Settlement) -> SettlementResult:
        """Void an uncaptured hold, or refund a captured payment by the rule's amount with its
        credit note (idempotent: Stripe keys from the booking, ledger and credit note dedupe keys)."""
        booking, payment = await booking_and_payment(settlement.booking_id)
        captured = payment.status in WAS_CAPTURED
        if captured != settlement.captured:
            raise ApplicationError(  # the workflow's validator keeps this from happening; never guess with money
                f"refund decided for a {'captured' if settlement.captured else 'held'} payment, found {payment.status}",
                non_retryable=True,
            )
        if payment.status == PaymentStatus.authorized:
            await self.void(booking, payment, stripe_key(settlement.booking_id, "void"))
            return SettlementResult("voided", 0)
        if not captured:
            if payment.intent_id and payment.status == PaymentStatus.pending:
                # 3-D Secure still open: cancel the intent so a late confirmation cannot hold money.
                await self._provider(
                    self.payments.void(
                        intent_id=payment.intent_id, idempotency_key=stripe_key(settlement.booking_id, "void")
                    )
                )
                await self._set(payment, status=PaymentStatus.voided, client_secret=None)
                return SettlementResult("voided", 0)
            return SettlementResult("nothing", 0)
        if settlement.refund <= 0:
            return SettlementResult("nothing", 0)
        await self.refund_across_payments(booking, settlement.refund, stripe_step="refund-cancellation", operation="")
        await self._reverse_overpaid(settlement.booking_id)
        number = await issue_cancellation_credit_note(
            booking, total=settlement.refund, currency=payment.currency, requested_lines=settlement.lines
        )
        return SettlementResult("refunded", settlement.refund, number)
