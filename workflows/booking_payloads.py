"""The payloads of the booking processes (BookingWorkflow and its children): plain dataclasses,
one per call, so fields can be added later with defaults without breaking running workflows.

They live apart from the workflow modules and are imported passed through the sandbox, so
Temporal's sandbox does not rebuild them (dataclasses generate code with `exec`) for every
new workflow run; bench/booking.py measured that rebuild as a large part of the worker's CPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class BookingRequest:
    booking_id: str
    listing_id: str
    guest_id: str
    host_id: str
    check_in: str
    check_out: str
    instant_book: bool
    host_response_hours: int
    payment_authentication_minutes: int
    review_window_days: int = 14
    total: int = 0
    """The stay's total when booked (0 in runs started before changes existed)."""


@dataclass(frozen=True)
class HostDecision:
    accept: bool
    host_id: str


@dataclass(frozen=True)
class ChangeRequest:
    """A change the API validated and priced (`booking_changes` row `number`)."""

    booking_id: str
    number: int
    guest_id: str
    check_in: str
    check_out: str
    needs_host: bool
    """Request-to-book listings: the host accepts the change first."""
    summary: str
    """The change in words, for the messages ("now 2026-12-01 to 2026-12-05, 3 guests; USD 80.00 more")."""
    total: int = 0
    """The changed stay's total."""


@dataclass(frozen=True)
class ChangeOutcome:
    number: int
    status: str
    """`applied`, `awaiting_host`, `declined`, `expired`, `failed` or `withdrawn`."""
    reason: str = ""
    code: str = ""


@dataclass(frozen=True)
class PaymentEvent:
    """From Stripe's webhook: `succeeded`, `failed`, `refunded`, `disputed`."""

    kind: str
    intent_id: str


@dataclass(frozen=True)
class TimelineStep:
    step: str
    at: str


@dataclass
class BookingState:
    status: str = "pending_payment"
    timeline: list[TimelineStep] = field(default_factory=list)


@dataclass(frozen=True)
class ChangeResult:
    applied: bool
    reason: str = ""
    code: str = ""
    """Why it was not applied: `card_declined` or `dates_taken`."""
    documents: list[str] | None = None


@dataclass(frozen=True)
class CancellationRequest:
    booking_id: str
    cancelled_by: str
    reason: str
    refund: int
    lines: list[dict[str, Any]]
    captured: bool = False
    """Whether the refund was decided on a captured payment (the workflow checks it still is)."""
    total: int = 0
    """The booking's total the refund was decided on (the workflow checks no change moved it; 0: unchecked)."""


@dataclass(frozen=True)
class CaptureResult:
    captured: int
    documents: list[str]


@dataclass(frozen=True)
class ReviewPeriod:
    booking_id: str
    completed_at: str
    """ISO timestamp of check-out."""
    window_days: int


@dataclass(frozen=True)
class ReviewOutcome:
    published: int
    reminders_sent: list[int]
    early: bool
