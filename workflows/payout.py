"""PayoutWorkflow (`payout-<booking id>`): pay the host once the stay has begun.

Started by the booking's capture. A durable timer waits until the release (check-in plus the
platform's payout delay, 24 h by default), re-reading the plan at least daily so a change of
dates moves it; then the host's earnings go out as one Stripe transfer with its journal entry.
A cancellation before then leaves less (or nothing) to pay, by the booking's policy; a dispute
holds the payout (`held`) until it closes. A transfer refused (the host's account restricted,
or not set up) is recorded `failed`, shown to admins, and tried again every few hours.
"""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

from temporalio import workflow
from temporalio.common import VersioningBehavior

with workflow.unsafe.imports_passed_through():
    from activities.payouts import PayoutActivities
    from workflows.payloads.payouts import PayoutOutcome, PayoutPlan, PayoutRef

from workflows.policies import DB, PROVIDER_RETRY

RECHECK = timedelta(days=1)
"""The longest the workflow sleeps without re-reading the plan (dates changed, hold lifted)."""
RETRY_REFUSED = timedelta(hours=6)
"""How long after a refused transfer it is tried again."""

FINAL = ("paid", "partially_reversed", "reversed", "cancelled")


@workflow.defn(versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class PayoutWorkflow:
    def __init__(self) -> None:
        self._wake = False
        self._outcome: PayoutOutcome | None = None

    @workflow.signal
    def reconsider(self) -> None:
        """Something changed (a dispute opened or closed, the account was enabled): re-read the plan."""
        self._wake = True

    @workflow.query
    def outcome(self) -> PayoutOutcome | None:
        return self._outcome

    async def _sleep(self, delay: timedelta) -> None:
        self._wake = False
        if delay > timedelta(0):
            try:
                await workflow.wait_condition(lambda: self._wake, timeout=min(delay, RECHECK))
            except TimeoutError:
                pass  # the time came: re-read the plan

    @workflow.run
    async def run(self, ref: PayoutRef) -> PayoutOutcome:
        while True:
            plan: PayoutPlan = await workflow.execute_activity_method(
                PayoutActivities.payout_plan, ref, start_to_close_timeout=DB
            )
            if plan.status in FINAL:
                self._outcome = PayoutOutcome(plan.status, 0)
                return self._outcome
            until_release = dt.datetime.fromisoformat(plan.release_at) - workflow.now()
            if plan.status == "held" or until_release > timedelta(0):
                await self._sleep(until_release if plan.status != "held" else RECHECK)
                continue
            self._outcome = await workflow.execute_activity_method(
                PayoutActivities.release_payout, ref, start_to_close_timeout=timedelta(seconds=60),
                retry_policy=PROVIDER_RETRY,
            )  # fmt: skip
            if self._outcome.status in FINAL:
                return self._outcome
            if self._outcome.status == "failed":
                await self._sleep(RETRY_REFUSED)
