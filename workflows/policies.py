"""Timeouts and retries shared by the booking processes (one place to tune them)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

DB = timedelta(seconds=30)
"""Start-to-close of an activity that only touches PostgreSQL."""

PROVIDER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=2)
)
"""Stripe calls: retried with backoff for as long as an outage lasts, with the same idempotency key."""
