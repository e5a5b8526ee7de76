"""A listing's approval (ListingApprovalWorkflow): what its activities take and answer."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BeginReview:
    listing_id: str
    review_id: str
    """The workflow run: one set of messages per run, however often an activity retries."""


@dataclass(frozen=True)
class ReviewStart:
    problems: list[str]
    reminder_hours: int
    message_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AdminReminder:
    listing_id: str
    review_id: str
    reminder_number: int


@dataclass(frozen=True)
class ListingDecision:
    listing_id: str
    review_id: str
    approve: bool
    admin_id: str
    reason: str = ""
