"""Bookings and the money around them: payments, the ledger, invoices, Stripe events.

PostgreSQL itself keeps two live bookings of one listing from sharing a night: an exclusion
constraint over `daterange(check_in, check_out)` (migration m0003). Invoices are immutable
and numbered without gaps per year (migration m0005).
"""

from piccolo.columns import JSONB, UUID, Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from models.identity import User
from models.listings import Listing
from stayflow.rules.booking_status import HOLDS_DATES, BookingStatus, PaymentStatus

__all__ = ["HOLDS_DATES", "Booking", "BookingChange", "BookingStatus", "Invoice", "InvoiceCounter", "LedgerEntry",
           "Payment", "PaymentStatus", "StripeEvent"]  # fmt: skip


class Booking(Table, tablename="bookings"):
    id = UUID(primary_key=True)
    listing = ForeignKey(Listing, on_delete=OnDelete.restrict)
    guest = ForeignKey(User, on_delete=OnDelete.restrict, index=True)
    host = ForeignKey(User, on_delete=OnDelete.restrict, null=True, index=True)
    check_in = Date()
    check_out = Date()
    guests = Integer()
    status = Varchar(length=20, choices=BookingStatus, default=BookingStatus.pending_payment)
    status_reason = Text(null=True, default=None)
    """Why it ended as it did (card declined, host declined, no answer in time)."""
    price = JSONB(null=True, default=None)
    """The quote the guest agreed to, frozen at booking time."""
    total = Integer(default=0)
    currency = Varchar(length=3, default="USD")
    payment_method = Varchar(length=100, default="")
    idempotency_key = Varchar(length=200, null=True, default=None)
    request_hash = Varchar(length=64, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    confirmed_at = Timestamptz(null=True, default=None)
    completed_at = Timestamptz(null=True, default=None)
    """Check-out passed: the review window opens."""
    cancellation_key = Varchar(length=200, null=True, default=None)
    """The Idempotency-Key of the cancellation: the same key gets the same answer."""
    cancelled_by = Varchar(length=10, null=True, default=None)
    refund_amount = Integer(null=True, default=None)
    """What the cancellation gives back, decided (and answered) before the money moves."""
    refund_lines = JSONB(null=True, default=None)
    """The credit note's lines of that refund, decided with it (the credit note follows them)."""
    refund_answer = JSONB(null=True, default=None)
    """The refund as the cancellation answered it (`RefundRead`): a replay answers the same."""
    review_window_days = Integer(null=True, default=None)
    """The platform's review window when this was booked: a later change of the setting does not move it."""
    terms = JSONB(null=True, default=None)
    """The booking's terms, frozen when it was made (`stayflow.rules.terms.BookingTerms`)."""


class Payment(Table, tablename="payments"):
    id = UUID(primary_key=True)
    booking = ForeignKey(Booking, on_delete=OnDelete.restrict, index=True)
    sequence = Integer(default=0)
    """0: the booking's own payment; n: the extra charge of the booking's n-th change
    (unique per booking, migration m0009)."""
    provider = Varchar(length=20, default="stripe")
    intent_id = Varchar(length=100, null=True, default=None, index=True)
    status = Varchar(length=20, choices=PaymentStatus, default=PaymentStatus.pending)
    amount = Integer()
    currency = Varchar(length=3)
    client_secret = Varchar(length=200, null=True, default=None)
    failure_message = Text(null=True, default=None)
    refunded = Integer(default=0)
    """Minor units given back so far (by changes and a cancellation); never more than captured."""
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class BookingChange(Table, tablename="booking_changes"):
    """A guest's change of dates or guests (SPEC §6 step 7), numbered per booking: what was asked,
    the stay before and after, the price difference and how it ended."""

    id = UUID(primary_key=True)
    booking = ForeignKey(Booking, on_delete=OnDelete.restrict, index=True)
    number = Integer()
    status = Varchar(length=20, default="requested")
    """`requested` -> `awaiting_host` -> `applied` | `declined` | `expired` | `failed` | `withdrawn`."""
    status_reason = Text(null=True, default=None)
    failure_code = Varchar(length=30, null=True, default=None)
    """Why a change failed, for machines: `card_declined` or `dates_taken`."""
    old_check_in = Date()
    old_check_out = Date()
    old_guests = Integer()
    check_in = Date()
    check_out = Date()
    guests = Integer()
    price = JSONB()
    """The new stay's full quote, priced like a new booking."""
    old_total = Integer()
    total = Integer()
    difference = Integer()
    """`total - old_total`: charged when positive, refunded when negative."""
    refund_when_asked = Integer(null=True, default=None)
    """What a guest cancellation of the booking would have refunded when this change was asked
    (the first applied change's is the bound of `stayflow.rules.change_refunds`)."""
    currency = Varchar(length=3)
    idempotency_key = Varchar(length=200)
    request_hash = Varchar(length=64)
    created_at = Timestamptz(default=TimestamptzNow())
    decided_at = Timestamptz(null=True, default=None)


class LedgerEntry(Table, tablename="ledger_entries"):
    """Every movement of a payment: authorization, capture, void, refund. Append-only."""

    id = UUID(primary_key=True)
    payment = ForeignKey(Payment, on_delete=OnDelete.restrict, index=True)
    booking = ForeignKey(Booking, on_delete=OnDelete.restrict)
    guest = ForeignKey(User, on_delete=OnDelete.restrict, index=True)
    kind = Varchar(length=20)
    amount = Integer()
    currency = Varchar(length=3)
    provider_ref = Varchar(length=100, default="")
    dedupe_key = Varchar(length=200, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Invoice(Table, tablename="invoices"):
    """Invoices, receipts and credit notes. Immutable once issued (a trigger refuses updates)."""

    id = UUID(primary_key=True)
    booking = ForeignKey(Booking, on_delete=OnDelete.restrict, index=True)
    kind = Varchar(length=20)
    number = Varchar(length=30, unique=True)
    issued_at = Timestamptz(default=TimestamptzNow())
    currency = Varchar(length=3)
    lines = JSONB()
    total = Integer()
    billed_to = Varchar(length=320)
    dedupe_key = Varchar(length=200, unique=True)


class InvoiceCounter(Table, tablename="invoice_counters"):
    """The last number used per year and series; taken in the same transaction as the invoice."""

    series = Varchar(length=20, primary_key=True)
    last = Integer(default=0)


class StripeEvent(Table, tablename="stripe_events"):
    """Webhook events already handled: Stripe redelivers, we act once."""

    id = Varchar(length=100, primary_key=True)
    type = Varchar(length=100)
    received_at = Timestamptz(default=TimestamptzNow())
