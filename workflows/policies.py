"""Timeouts and retries of every Stayflow process (one place to tune them)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

DB = timedelta(seconds=30)
"""Start-to-close of an activity that only touches PostgreSQL (or sends one message)."""

PROVIDER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=2)
)
"""Stripe calls: retried with backoff for as long as an outage lasts, with the same idempotency key."""

DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=10)
)
"""Email and SMS deliveries: retried with backoff while a provider is down..."""

DELIVERY_DEADLINE = timedelta(days=1)
"""...for at most a day, then the message is marked failed."""
