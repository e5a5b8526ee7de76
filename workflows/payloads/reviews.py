"""Reviews after a stay (ReviewReminderWorkflow)."""

from __future__ import annotations

from dataclasses import dataclass


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


@dataclass(frozen=True)
class ReviewReminder:
    booking_id: str
    day: int


@dataclass(frozen=True)
class Publication:
    booking_id: str
