"""A booking's cancellation (the booking's `cancel` update, CancellationRefundWorkflow)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class CancellationRequest:
    booking_id: str
    cancelled_by: str
    reason: str
    refund: int
    lines: list[dict[str, Any]]
    """The credit note's lines as decided (also stored with the claim, which the credit note follows)."""
    captured: bool = False
    """Whether the refund was decided on a captured payment (the workflow checks it still is)."""
    total: int = 0
    """The booking's total the refund was decided on (the workflow checks no change moved it; 0: unchecked)."""


@dataclass(frozen=True)
class Settlement:
    booking_id: str
    refund: int
    """What the cancellation rule gives back, if the payment was captured."""
    lines: list[dict[str, Any]]
    """The credit note's lines as the request carried them (used only for a claim that stored none)."""
    captured: bool = False
    """What the refund was decided on: a captured payment (refund) or not (void)."""


@dataclass(frozen=True)
class SettlementResult:
    kind: Literal["voided", "refunded", "nothing"]
    amount: int
    credit_note: str | None = None
