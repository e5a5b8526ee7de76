"""What the booking endpoints take and answer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar.params import HeaderParameter

from api.calendar.schemas import QuoteRead
from stayflow.rules.booking_status import BookingStatus, PaymentStatus
from stayflow.rules.pricing import PricingRules

IdempotencyKey = Annotated[
    str,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=8,
        max_length=200,
        description="Unique per booking attempt; a retry with the same key and body gets the same answer",
    ),
]


class BookingCreate(msgspec.Struct, forbid_unknown_fields=True):
    listing_id: UUID
    check_in: dt.date
    check_out: dt.date
    guests: Annotated[int, msgspec.Meta(ge=1, le=50)]
    payment_method: Annotated[str, msgspec.Meta(min_length=1, max_length=100, description="a Stripe PaymentMethod id")]


class PaymentRead(msgspec.Struct):
    id: UUID
    status: PaymentStatus
    amount: int
    currency: str
    client_secret: str | None
    """Set while the card needs the guest's own confirmation (3-D Secure) with Stripe.js."""
    failure_message: str | None


class TermsRead(msgspec.Struct):
    """What was agreed when the booking was made (SPEC §12), and the deadlines they give, each as a
    UTC instant (`…_at`, `…_until`) and on the listing's wall clock (`…_local`, with its offset)."""

    cancellation_policy: str
    guest_fee_bps: int
    host_fee_bps: int
    tax_bps: int
    currency: str
    time_zone: str
    check_in_time: str
    """Local HH:MM in `time_zone`."""
    check_out_time: str
    check_in_at: dt.datetime
    check_in_local: dt.datetime
    check_out_at: dt.datetime
    check_out_local: dt.datetime
    free_cancellation_until: dt.datetime | None
    """The last instant a guest's cancellation gets everything back (None: it never does)."""
    free_cancellation_until_local: dt.datetime | None
    pricing: PricingRules | None = None
    """The listing's pricing rules when the booking was made; what they came to is the price's
    `adjustments` (null for bookings from before pricing rules)."""


class HostEarningsRead(msgspec.Struct):
    """What the host will be paid for the stay: nights and cleaning fee less the host fee."""

    amount: int
    currency: str
    fee: int


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
    terms: TermsRead | None = None
    host_earnings: HostEarningsRead | None = None
    """Only on the host's (and an admin's) view of the booking."""


class CancelBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class RefundRead(msgspec.Struct):
    amount: int
    currency: str
    method: Literal["refund", "void", "none"]
    """`refund`: money goes back to the card; `void`: the hold is released, nothing was taken."""
    rule: str


class CancelAnswer(msgspec.Struct):
    booking: BookingRead
    refund: RefundRead


class TimelineRead(msgspec.Struct):
    booking_id: UUID
    status: str
    steps: list[dict[str, str]]


class DocumentRead(msgspec.Struct):
    kind: str
    number: str
    issued_at: dt.datetime
    billed_to: str
    currency: str
    lines: list[dict[str, Any]]
    total: int


class InvoiceRead(msgspec.Struct):
    booking_id: UUID
    documents: list[DocumentRead]


class BookingChangeBody(msgspec.Struct, forbid_unknown_fields=True):
    check_in: dt.date | msgspec.UnsetType = msgspec.UNSET
    check_out: dt.date | msgspec.UnsetType = msgspec.UNSET
    guests: Annotated[int, msgspec.Meta(ge=1, le=50)] | msgspec.UnsetType = msgspec.UNSET


class StayRead(msgspec.Struct):
    check_in: dt.date
    check_out: dt.date
    guests: int
    total: int


OPEN_CHANGE = ("requested", "awaiting_host")
"""A change in these statuses blocks another one; its PATCH answers 202."""


class ChangeRead(msgspec.Struct):
    number: int
    status: str
    """`requested`, `awaiting_host` (the host decides), `applied`, `declined`, `expired`, `failed`, `withdrawn`."""
    status_reason: str | None
    previous: StayRead
    requested: StayRead
    price: QuoteRead
    """The new stay, priced like a new booking."""
    difference: int
    """Charged when positive, refunded when negative (minor units)."""
    currency: str
    created_at: dt.datetime
    decided_at: dt.datetime | None


class ChangeAnswer(msgspec.Struct):
    change: ChangeRead
    booking: BookingRead


class LedgerLine(msgspec.Struct):
    kind: str
    amount: int
    currency: str
    provider_ref: str
    created_at: dt.datetime


class AdminBookingRead(msgspec.Struct):
    booking: BookingRead
    cancelled_by: str | None
    refund_amount: int | None
    review_window_days: int | None
    ledger: list[LedgerLine]
    """Every movement of the booking's money, oldest first."""
