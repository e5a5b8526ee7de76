"""The payout and dispute processes (PayoutWorkflow, DisputeWorkflow): what they take and answer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PayoutRef:
    booking_id: str


@dataclass(frozen=True)
class PayoutPlan:
    status: str
    """The payout's status (`scheduled`, `held`, `failed`, or a final one: `paid`, `cancelled` ...)."""
    release_at: str
    """ISO instant: check-in plus the platform's payout delay, from the booking's current dates."""


@dataclass(frozen=True)
class PayoutOutcome:
    status: str
    amount: int
    message: str = ""
