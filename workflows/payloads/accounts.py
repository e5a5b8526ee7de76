"""The account processes (PasswordResetWorkflow)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PasswordResetRequest:
    request_id: str
    """Unique per request (the workflow id): makes the activity safe to retry."""
    email: str
