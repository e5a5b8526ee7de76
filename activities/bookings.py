"""Side effects of the booking processes: Stripe, the ledger, invoices, status changes, messages.

Every activity is idempotent. Stripe calls carry keys derived from the booking
(`booking-<id>-authorize|capture|void`), ledger rows and invoices carry dedupe keys, and status
changes are conditional updates: a worker killed at any point, then retried, never charges
twice, never writes a second ledger row, never skips a number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notifications import record_notification
from models import (
    Booking,
    BookingChange,
    Invoice,
    InvoiceCounter,
    LedgerEntry,
    Listing,
    Message,
    Notification,
    Payment,
    User,
)
from stayflow import templates
from stayflow.providers.payments import PaymentProviderError, PaymentRejected, StripePayments
from stayflow.rules.booking_status import CAPTURED, WAS_CAPTURED, BookingStatus, PaymentStatus, sources_of
from stayflow.rules.pricing import quote_json, stored_quote
from stayflow.settings import Settings


@dataclass(frozen=True)
class BookingRef:
    booking_id: str


@dataclass(frozen=True)
class AuthorizationOutcome:
    outcome: Literal["authorized", "requires_action", "declined"]
    message: str = ""


@dataclass(frozen=True)
class StatusChange:
    booking_id: str
    status: str
    reason: str | None = None


@dataclass(frozen=True)
class BookingNotices:
    booking_id: str
    kinds: list[str]
    reason: str = ""
    event: str = ""


@dataclass(frozen=True)
class BookingNotice:
    booking_id: str
    kind: str
    """A kind of `stayflow.templates.booking_email`; `_host` suffix: to the host."""
    reason: str = ""
    event: str = ""
    """For kinds that can happen more than once to a booking (`booking_modified`): what tells
    one occurrence from the next (e.g. the modification's id). Empty: once per booking."""


def _key(booking_id: str, step: str) -> str:
    return f"booking-{booking_id}-{step}"


class BookingActivities:
    def __init__(self, settings: Settings, payments: StripePayments) -> None:
        self.settings = settings
        self.payments = payments

    async def _load(self, booking_id: str) -> tuple[Booking, Payment]:
        booking = await Booking.objects().get(Booking.id == UUID(booking_id))
        payment = await Payment.objects().get((Payment.booking == UUID(booking_id)) & (Payment.sequence == 0))
        if booking is None or payment is None:
            raise ApplicationError(f"no booking {booking_id} with a payment", non_retryable=True)
        return booking, payment

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

    async def _record_refund(self, booking: Booking, payment: Payment, amount: int, ref: str, operation: str) -> None:
        """The ledger row and the payment's refunded total move together, once per operation."""
        async with Payment._meta.db.transaction():
            if not await self._ledger(booking, payment, "refund", amount, ref, operation):
                return  # already recorded by an earlier attempt
            rows = await Payment.raw(
                "UPDATE payments SET refunded = refunded + {}, updated_at = now() WHERE id = {} RETURNING refunded",
                amount,
                payment.id,
            )
            refunded = rows[0]["refunded"]
            status = PaymentStatus.refunded if refunded >= payment.amount else PaymentStatus.partially_refunded
            await Payment.update({Payment.status: status}).where(Payment.id == payment.id)

    async def _payment(self, payment: Payment, **changes: Any) -> None:
        values = {getattr(Payment, k): v for k, v in changes.items()} | {Payment.updated_at: dt.datetime.now(dt.UTC)}
        await Payment.update(values).where(Payment.id == payment.id)

    async def _provider(self, call: Any) -> Any:
        try:
            return await call
        except PaymentRejected as exc:
            raise ApplicationError(str(exc), type="PaymentRejected", non_retryable=True) from exc
        except PaymentProviderError:
            raise  # Stripe is down or erring: Temporal retries with backoff, same idempotency key

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
                    intent_id=payment.intent_id or "", amount=share, idempotency_key=_key(str(booking.id), step)
                )
            )
            await self._record_refund(booking, payment, share, str(refund_id), operation)
            remaining -= share
        if remaining > 0:
            raise ApplicationError(f"{remaining} more to refund than was captured", non_retryable=True)

    @activity.defn
    async def authorize_payment(self, ref: BookingRef) -> AuthorizationOutcome:
        """Hold the stay's total on the guest's card (PaymentIntent, manual capture)."""
        booking, payment = await self._load(ref.booking_id)
        if payment.status in (PaymentStatus.authorized, PaymentStatus.completed):
            return AuthorizationOutcome("authorized")
        if booking.status != BookingStatus.pending_payment:
            return AuthorizationOutcome("declined", "The booking was withdrawn before payment.")
        if payment.status == PaymentStatus.failed:
            return AuthorizationOutcome("declined", payment.failure_message or "")
        result = await self._provider(
            self.payments.authorize(
                amount=payment.amount,
                currency=payment.currency,
                payment_method=booking.payment_method,
                idempotency_key=_key(ref.booking_id, "authorize"),
                metadata={"booking_id": ref.booking_id, "listing_id": str(booking.listing)},
            )
        )
        if result.outcome == "authorized":
            await self._payment(payment, intent_id=result.intent_id, status=PaymentStatus.authorized)
            await self._ledger(booking, payment, "authorization", payment.amount, result.intent_id or "")
        elif result.outcome == "requires_action":
            await self._payment(payment, intent_id=result.intent_id, client_secret=result.client_secret)
        else:
            await self._payment(
                payment, intent_id=result.intent_id, status=PaymentStatus.failed, failure_message=result.decline_message
            )
        return AuthorizationOutcome(result.outcome, result.decline_message or "")

    @activity.defn
    async def confirm_authentication(self, ref: BookingRef) -> AuthorizationOutcome:
        """After 3-D Secure (or its deadline): ask Stripe whether the hold is now in place."""
        booking, payment = await self._load(ref.booking_id)
        if payment.status == PaymentStatus.authorized:
            return AuthorizationOutcome("authorized")
        status = await self._provider(self.payments.status(payment.intent_id or ""))
        if status == "requires_capture":
            await self._payment(payment, status=PaymentStatus.authorized, client_secret=None)
            await self._ledger(booking, payment, "authorization", payment.amount, payment.intent_id or "")
            return AuthorizationOutcome("authorized")
        if status in ("requires_action", "requires_payment_method", "requires_confirmation"):
            # Abandoned: release the hold attempt so it cannot be completed later.
            await self._provider(
                self.payments.void(intent_id=payment.intent_id or "", idempotency_key=_key(ref.booking_id, "void"))
            )
        message = "The card was not authenticated in time."
        await self._payment(payment, status=PaymentStatus.failed, failure_message=message, client_secret=None)
        return AuthorizationOutcome("declined", message)

    async def capture(self, booking: Booking, payment: Payment, idempotency_key: str) -> int:
        """Take one held payment (the booking's own or a change's): Stripe, then its status and
        ledger row. Repeating it captures nothing twice."""
        if payment.status == PaymentStatus.completed:
            return payment.amount
        if payment.status != PaymentStatus.authorized:
            raise ApplicationError(f"cannot capture a payment that is {payment.status}", non_retryable=True)
        captured = await self._provider(
            self.payments.capture(intent_id=payment.intent_id or "", idempotency_key=idempotency_key)
        )
        await self._payment(payment, status=PaymentStatus.completed)
        await self._ledger(booking, payment, "capture", captured, payment.intent_id or "")
        return int(captured)

    async def void(self, booking: Booking, payment: Payment, idempotency_key: str) -> None:
        """Release one uncaptured hold (nothing to do for a payment that is not held)."""
        if payment.status != PaymentStatus.authorized:
            return
        try:
            await self._provider(self.payments.void(intent_id=payment.intent_id or "", idempotency_key=idempotency_key))
        except ApplicationError:
            # Stripe refuses to cancel an intent it already cancelled (an expired hold): that is void too.
            if await self._provider(self.payments.status(payment.intent_id or "")) != "canceled":
                raise
        await self._payment(payment, status=PaymentStatus.voided)
        await self._ledger(booking, payment, "void", payment.amount, payment.intent_id or "")

    @activity.defn
    async def capture_payment(self, ref: BookingRef) -> int:
        booking, payment = await self._load(ref.booking_id)
        return await self.capture(booking, payment, _key(ref.booking_id, "capture"))

    @activity.defn
    async def void_payment(self, ref: BookingRef) -> None:
        """Release an uncaptured hold (declined, expired, cancelled before capture)."""
        booking, payment = await self._load(ref.booking_id)
        await self.void(booking, payment, _key(ref.booking_id, "void"))

    @activity.defn
    async def set_booking_status(self, change: StatusChange) -> str:
        """Move the booking (from any status that may precede the target); returns the status now."""
        now = dt.datetime.now(dt.UTC)
        values: dict[Any, Any] = {Booking.status: change.status, Booking.updated_at: now}
        if change.reason is not None:
            values[Booking.status_reason] = change.reason
        if change.status == BookingStatus.confirmed:
            values[Booking.confirmed_at] = now
        if change.status == BookingStatus.completed:
            values[Booking.completed_at] = now
        await Booking.update(values).where(
            (Booking.id == UUID(change.booking_id)) & Booking.status.is_in(sources_of(change.status))
        )
        row = await Booking.select(Booking.status).where(Booking.id == UUID(change.booking_id)).first()
        assert row is not None
        return str(row["status"])

    @activity.defn
    async def issue_invoice_and_receipt(self, ref: BookingRef) -> list[str]:
        """The invoice (what was sold) and the receipt (what was paid), numbered without gaps."""
        booking, payment = await self._load(ref.booking_id)
        guest = await User.objects().get(User.id == booking.guest)
        listing = await Listing.objects().get(Listing.id == booking.listing)
        assert guest is not None and listing is not None
        price = quote_json(stored_quote(booking.price))
        lines = invoice_lines(price, listing.title)
        numbers = []
        for kind, prefix in (("invoice", "INV"), ("receipt", "RCT")):
            numbers.append(
                await issue_document(
                    booking_id=booking.id,
                    kind=kind,
                    prefix=prefix,
                    lines=lines,
                    total=payment.amount,
                    currency=payment.currency,
                    billed_to=guest.email,
                )
            )
        return numbers

    @activity.defn
    async def notify_all(self, notices: BookingNotices) -> list[str]:
        """Record one message per kind in one activity (a booking sends several at once)."""
        ids: list[str] = []
        for kind in notices.kinds:
            ids += await self.notify(BookingNotice(notices.booking_id, kind, notices.reason, notices.event))
        return ids

    @activity.defn
    async def notify(self, notice: BookingNotice) -> list[str]:
        """Tell guest or host (`_host` suffix, and requests) about the booking; returns the
        message ids to deliver. A cancellation that refunded money also tells the guest so."""
        booking = await Booking.objects().get(Booking.id == UUID(notice.booking_id))
        assert booking is not None
        listing = await Listing.objects().get(Listing.id == booking.listing)
        assert listing is not None
        to_host = notice.kind.endswith("_host") or notice.kind == "booking_requested"
        recipient = await User.objects().get(User.id == (listing.host if to_host else booking.guest))
        assert recipient is not None
        url = f"{self.settings.public_url.rstrip('/')}/api/v1/bookings/{booking.id}"
        kind = notice.kind
        if kind == "booking_confirmed" and await _was_requested(booking.id):
            kind = "booking_accepted"  # the host said yes: that is what the guest waited for

        async def tell(kind: str, dedupe_key: str, amount: int) -> list[str]:
            rendered = templates.booking_email(
                kind=kind,
                full_name=recipient.full_name,
                title=listing.title,
                check_in=str(booking.check_in),
                check_out=str(booking.check_out),
                total=amount,
                currency=booking.currency,
                reason=notice.reason,
                booking_url=url,
            )
            return await record_notification(
                user_id=recipient.id, kind=kind, dedupe_key=dedupe_key, notice=rendered, link=url
            )

        occurrence = f":{notice.event}" if notice.event else ""
        ids = await tell(kind, f"{notice.kind}:{booking.id}{occurrence}", booking.total)
        if notice.kind == "booking_cancelled":
            amount = booking.refund_amount or 0  # what the cancellation gives back (not earlier changes')
            if amount > 0:
                ids += await tell("refund_issued", f"refund_issued:{booking.id}", amount)
        number = notice.event.removeprefix("change-")
        if notice.kind == "booking_modified" and notice.event.startswith("change-") and number.isdigit():
            # The money of the change: a receipt for what was charged, or the refund.
            change = await BookingChange.objects().get(
                (BookingChange.booking == booking.id) & (BookingChange.number == int(number))
            )
            if change is not None and change.difference > 0:
                ids += await tell("payment_receipt", f"payment_receipt:{booking.id}{occurrence}", change.difference)
            elif change is not None and change.difference < 0:
                ids += await tell("refund_issued", f"refund_issued:{booking.id}{occurrence}", -change.difference)
        return ids


async def _was_requested(booking_id: UUID) -> bool:
    """Whether the host was asked (a request, not an instant booking)."""
    key = f"booking_requested:{booking_id}"
    return bool(
        await Notification.exists().where(Notification.dedupe_key == key)
        or await Message.exists().where(Message.dedupe_key == key)
    )


def invoice_lines(price: dict[str, Any], title: str) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = [
        {"description": f"{title}: night of {night['date']}", "amount": night["price"]} for night in price["nightly"]
    ]
    if price.get("cleaning_fee"):
        lines.append({"description": "Cleaning fee", "amount": price["cleaning_fee"]})
    if price.get("service_fee"):
        lines.append({"description": "Service fee", "amount": price["service_fee"]})
    if price.get("taxes"):
        lines.append({"description": "Taxes", "amount": price["taxes"]})
    return lines


async def issue_document(
    *,
    booking_id: UUID,
    kind: str,
    prefix: str,
    lines: list[dict[str, Any]],
    total: int,
    currency: str,
    billed_to: str,
    operation: str = "",
) -> str:
    """Number and store one document (once per booking, kind and operation, e.g. `change-2`).
    The counter row is locked and bumped in the same transaction as the insert, so a failure
    rolls both back: no gaps, no duplicates."""
    dedupe_key = f"{booking_id}:{kind}" + (f":{operation}" if operation else "")
    existing = await Invoice.select(Invoice.number).where(Invoice.dedupe_key == dedupe_key).first()
    if existing:
        return str(existing["number"])
    year = dt.datetime.now(dt.UTC).year
    series = f"{prefix}-{year}"
    async with Invoice._meta.db.transaction():
        await InvoiceCounter.raw(
            "INSERT INTO invoice_counters (series, last) VALUES ({}, 0) ON CONFLICT DO NOTHING", series
        )
        rows = await InvoiceCounter.raw(
            "UPDATE invoice_counters SET last = last + 1 WHERE series = {} RETURNING last", series
        )
        number = f"{series}-{rows[0]['last']:06d}"
        await Invoice.insert(
            Invoice(
                booking=booking_id,
                kind=kind,
                number=number,
                currency=currency,
                lines=lines,
                total=total,
                billed_to=billed_to,
                dedupe_key=dedupe_key,
            )
        )
    return number


@dataclass(frozen=True)
class Settlement:
    booking_id: str
    refund: int
    """What the cancellation rule gives back, if the payment was captured."""
    lines: list[dict[str, Any]]
    """The credit note's lines (refunded nights, fees, taxes)."""
    captured: bool = False
    """What the refund was decided on: a captured payment (refund) or not (void)."""


@dataclass(frozen=True)
class SettlementResult:
    kind: Literal["voided", "refunded", "nothing"]
    amount: int
    credit_note: str | None = None


class CancellationActivities:
    def __init__(self, settings: Settings, payments: StripePayments) -> None:
        self.bookings = BookingActivities(settings, payments)

    @activity.defn
    async def settle_cancellation(self, settlement: Settlement) -> SettlementResult:
        """Void an uncaptured hold, or refund a captured payment by the rule's amount (idempotent:
        Stripe keys from the booking, ledger and credit note dedupe keys)."""
        b = self.bookings
        booking, payment = await b._load(settlement.booking_id)
        captured = payment.status in WAS_CAPTURED
        if captured != settlement.captured:
            raise ApplicationError(  # the workflow's validator keeps this from happening; never guess with money
                f"refund decided for a {'captured' if settlement.captured else 'held'} payment, found {payment.status}",
                non_retryable=True,
            )
        if payment.status == PaymentStatus.authorized:
            await b.void_payment(BookingRef(settlement.booking_id))
            return SettlementResult("voided", 0)
        if not captured:
            if payment.intent_id and payment.status == PaymentStatus.pending:
                # 3-D Secure still open: cancel the intent so a late confirmation cannot hold money.
                await b._provider(b.payments.void(intent_id=payment.intent_id,
                                                  idempotency_key=_key(settlement.booking_id, "void")))  # fmt: skip
                await b._payment(payment, status=PaymentStatus.voided, client_secret=None)
                return SettlementResult("voided", 0)
            return SettlementResult("nothing", 0)
        if settlement.refund <= 0:
            return SettlementResult("nothing", 0)
        await b.refund_across_payments(booking, settlement.refund, stripe_step="refund-cancellation", operation="")
        guest = await User.objects().get(User.id == booking.guest)
        assert guest is not None
        number = await issue_document(
            booking_id=booking.id,
            kind="credit_note",
            prefix="CRN",
            lines=settlement.lines,
            total=settlement.refund,
            currency=payment.currency,
            billed_to=guest.email,
        )
        return SettlementResult("refunded", settlement.refund, number)
