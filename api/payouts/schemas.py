"""What the host payout endpoints answer (SPEC §12)."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import msgspec


class Onboarding(msgspec.Struct):
    account_id: str
    onboarding_url: str


class PayoutAccountRead(msgspec.Struct):
    account_id: str | None
    payouts_enabled: bool
    requirements: list[str]


class PayoutRead(msgspec.Struct):
    id: UUID
    booking_id: UUID
    amount: int
    reversed: int
    currency: str
    status: str
    release_at: dt.datetime
    failure_message: str | None
    created_at: dt.datetime


class StatementLineRead(msgspec.Struct):
    """One booking whose payout is released in the month: as booked, and as the books say now."""

    booking_id: str
    guest_first_name: str
    listing_title: str
    check_in: dt.date
    check_out: dt.date
    nights: int
    currency: str
    gross: int
    """Nights + cleaning fee, minor units."""
    host_fee: int
    earnings: int
    """gross - host_fee."""
    refunded: int
    """What cancellation refunds took back of the earnings."""
    paid: int
    """Transferred to the host's Stripe account."""
    reversed: int
    """Taken back after the transfer (a refund after release)."""
    net_paid: int
    outstanding: int
    """Still to pay: before the release, or while the payout is held or refused."""
    payout_status: str
    release_at: dt.datetime
    paid_at: dt.datetime | None


class StatementTotalRead(msgspec.Struct):
    currency: str
    bookings: int
    gross: int
    host_fee: int
    earnings: int
    refunded: int
    paid: int
    reversed: int
    net_paid: int
    outstanding: int


class StatementRead(msgspec.Struct):
    """A host's monthly statement: the bookings whose payout is released in `month` (UTC)."""

    month: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    host_name: str
    lines: list[StatementLineRead]
    totals: list[StatementTotalRead]
    """Per currency, never summed across currencies."""
