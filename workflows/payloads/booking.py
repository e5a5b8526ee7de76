"""The booking process (BookingWorkflow, PaymentCaptureWorkflow): what the API sends it, what
its activities take and answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


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
    check_in_at: str = ""
    """The check-in instant (UTC, ISO 8601): the listing's local check-in time on `check_in`, as
    the booking's terms froze it. Computed by the API (tz database lookups stay out of the run)."""
    check_out_at: str = ""
    """The check-out instant (UTC, ISO 8601), local check-out time on `check_out`."""
    await_placement: bool = False
    """True (the API): the booking's rows are not there yet; the run's first step is the `place`
    update that inserts them (update-with-start), so no booking row ever exists without its run."""
    request_hash: str = ""
    """What the Idempotency-Key was first used with (a `place` with another body is refused)."""


@dataclass(frozen=True)
class Placement:
    """The booking the API priced, for the `place` update to insert holding its nights."""

    booking_id: str
    listing_id: str
    guest_id: str
    host_id: str
    check_in: str
    check_out: str
    guests: int
    price: dict[str, Any]
    total: int
    currency: str
    payment_method: str
    idempotency_key: str
    request_hash: str
    review_window_days: int
    terms: dict[str, Any]
    max_unconfirmed: int
    """The guest may hold at most this many bookings unpaid or awaiting a host (the API's setting)."""
    max_unconfirmed_nights: int = 31
    """... and at most this many nights in them (a calendar cannot be hoarded with unpaid holds)."""


PlacementResult = Literal[
    "placed",
    "dates_taken",
    "preparation_time",
    "too_many_unconfirmed",
    "too_many_unconfirmed_nights",
    "key_reused",
    "expired",
]


@dataclass(frozen=True)
class PlacementOutcome:
    """The `place` update's answer: `placed` (the rows hold the nights), or why nothing was stored."""

    outcome: PlacementResult
    message: str = ""


@dataclass(frozen=True)
class HostDecision:
    accept: bool
    host_id: str


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


@dataclass(frozen=True)
class CaptureResult:
    captured: int
    documents: list[str]
