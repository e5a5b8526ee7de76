"""What the admin disputes endpoint answers (SPEC §12)."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import msgspec


class DisputeRead(msgspec.Struct):
    id: str
    """Stripe's dispute id (`dp_...`); its process is `dispute-<id>` in Temporal."""
    booking_id: UUID
    amount: int
    currency: str
    reason: str
    status: str
    """Stripe's status: `needs_response`, `under_review` (evidence submitted), `won`, `lost` ..."""
    evidence_due_by: dt.datetime | None
    evidence_submitted_at: dt.datetime | None
    outcome: str | None
    """`won` or `lost` once the bank decided."""
    fee: int
    """Stripe's dispute fee."""
    recovered_from_host: int
    """What a lost dispute took from the host's earnings."""
    created_at: dt.datetime
    closed_at: dt.datetime | None
