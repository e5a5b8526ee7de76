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


# -- DisputeWorkflow `dispute-<stripe dispute id>` ----------------------------------------------


@dataclass(frozen=True)
class DisputeOpened:
    """What Stripe said when the dispute opened (`charge.dispute.created`): the run's input."""

    dispute_id: str
    booking_id: str
    intent_id: str
    amount: int
    currency: str
    reason: str
    status: str
    due_by: str
    """ISO instant: Stripe's `evidence_details.due_by` ("" when Stripe gives none)."""
    withdrawn: int
    """Taken from the platform's balance (the disputed amount; 0 for an inquiry)."""
    fee: int
    """Stripe's dispute fee, withdrawn with it."""


@dataclass(frozen=True)
class DisputeClosed:
    """`charge.dispute.closed`: the bank decided (the `closed` signal)."""

    dispute_id: str
    status: str
    """Stripe's final status: `won`, `lost` or `warning_closed`."""
    reinstated: int
    """Given back to the platform's balance."""
    fee_returned: int


@dataclass(frozen=True)
class DisputeRef:
    dispute_id: str


@dataclass(frozen=True)
class EvidenceSubmitted:
    submitted_at: str
    """ISO instant the evidence reached Stripe ("" when it did not)."""
    fields: list[str]
    """The evidence fields given (names only: the text stays out of the history)."""
    message: str = ""


@dataclass(frozen=True)
class DisputeNotice:
    """What to tell admins and the host about a dispute (`opened`, `closed`, `evidence_missed`)."""

    dispute_id: str
    event: str


@dataclass(frozen=True)
class DisputeOutcome:
    outcome: str
    """`won` or `lost`."""
    amount: int
    recovered_from_host: int = 0
    """What a lost dispute took from the host's earnings (the payout cut or a transfer reversed)."""
    message: str = ""
