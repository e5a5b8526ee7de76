"""The reconciler (ReconcileWorkflow): what one run found and what it repaired."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class FindingKind(StrEnum):
    orphan_booking = "orphan_bookings"
    """A live booking (pending payment, awaiting the host, confirmed) whose `booking-<id>` run is not running."""
    stale_hold = "stale_holds"
    """A card hold (payment `authorized`) of a booking that has ended (cancelled, declined, expired, failed)."""
    capture_without_ledger = "captures_without_ledger"
    """A captured payment without its ledger row or its journal entry."""
    missing_payout = "missing_payouts"
    """A payout still to be made (scheduled, held, failed) whose `payout-<id>` run is not running."""


class Repair(StrEnum):
    fail_booking = "fail_booking"
    """Release any hold, then `payment_failed` (the nights are freed), the guest told."""
    expire_request = "expire_request"
    """Release the hold, then `expired` (the nights are freed), the guest told."""
    void_payment = "void_payment"
    void_change = "void_change"
    record_capture = "record_capture"
    record_change_capture = "record_change_capture"
    restart_payout = "restart_payout"
    report = "report"
    """Nothing the reconciler may safely do: counted and logged for an operator."""


@dataclass(frozen=True)
class ReconcileRequest:
    grace_seconds: int = -1
    """How old a row must be before it is judged; -1: the worker's STAYFLOW_RECONCILER_GRACE_MINUTES."""
    limit: int = 200
    """At most this many findings of each kind per run (the next run takes the rest)."""


@dataclass(frozen=True)
class Finding:
    kind: str
    booking_id: str
    repair: str
    detail: str
    number: int = 0
    """The payment's sequence: 0 the booking's own, n change n's difference."""


@dataclass(frozen=True)
class Findings:
    started_at: str
    items: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class RepairOutcome:
    finding: Finding
    repaired: bool
    error: str = ""


@dataclass(frozen=True)
class ReconcileReport:
    started_at: str
    outcomes: list[RepairOutcome] = field(default_factory=list)
    found: dict[str, int] = field(default_factory=dict)
    repaired: dict[str, int] = field(default_factory=dict)
