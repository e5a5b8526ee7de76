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
