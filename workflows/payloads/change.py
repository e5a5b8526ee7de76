"""A change of a booking's dates or guests (the booking's `modify` update, BookingChangeWorkflow)."""

from __future__ import annotations

from dataclasses import dataclass


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
    check_in_at: str = ""
    """The changed stay's check-in and check-out instants (UTC, ISO 8601), on the booking's
    frozen local clock."""
    check_out_at: str = ""


@dataclass(frozen=True)
class ChangeOutcome:
    number: int
    status: str
    """`applied`, `awaiting_host`, `declined`, `expired`, `failed` or `withdrawn`."""
    reason: str = ""
    code: str = ""


@dataclass(frozen=True)
class ChangeResult:
    applied: bool
    reason: str = ""
    code: str = ""
    """Why it was not applied: `card_declined` or `dates_taken`."""
    documents: list[str] | None = None


@dataclass(frozen=True)
class ChangeRef:
    booking_id: str
    number: int


@dataclass(frozen=True)
class ChangeStatus:
    booking_id: str
    number: int
    status: str
    reason: str | None = None
    code: str | None = None
