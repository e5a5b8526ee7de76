"""ReconcileWorkflow: one pass of the reconciler (issue 15, item 5), started every
STAYFLOW_RECONCILER_INTERVAL_MINUTES by the Temporal Schedule `<task queue>-reconciler` (which the
worker creates or updates when it starts, `workers/schedules.py`). Runs never overlap.

1. `find_inconsistencies` compares PostgreSQL with Temporal (see `activities/reconcile.py`).
2. Each finding is repaired through the activities the booking processes themselves use:
   - a booking pending payment or awaiting the host whose process is gone is closed as its process
     would have closed it: the card hold released (`release_hold`, Stripe key `booking-<id>-void`),
     then `payment_failed` or `expired` (its nights free again), the guest told. It is not
     restarted: a new run could not know what the lost one had done, and its wait would start over;
   - a confirmed booking whose process is gone, or a booking whose money was captured but whose
     status never moved, is reported (counted and logged) for an operator: its money is right,
     and only a person can say whether the stay goes ahead;
   - a hold of an ended booking is voided (`void_payment`, `void_change`: the payment's own key);
   - a capture without its ledger row or journal entry is recorded by the capture step itself
     (`capture_payment`, `capture_change` on a captured payment only write what is missing);
   - a payout with no process gets it started again (`payout-<booking id>`).
   A repair that fails after its retries is counted as found and not repaired; the next run tries again.
3. `record_run` stores the counts (shown by `/api/v1/admin/metrics`) and logs one line per finding.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, VersioningBehavior
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.bookings import BookingActivities
    from activities.payments import PaymentActivities
    from activities.reconcile import ReconcileActivities
    from workflows.payloads.booking import BookingNotices, BookingRef, StatusChange
    from workflows.payloads.change import ChangeRef
    from workflows.payloads.payouts import PayoutRef
    from workflows.payloads.reconcile import (
        Finding,
        Findings,
        ReconcileReport,
        ReconcileRequest,
        Repair,
        RepairOutcome,
    )

from workflows.messaging import deliver_in_background
from workflows.policies import DB

FIND_TIMEOUT = timedelta(minutes=5)
REPAIR_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30), maximum_attempts=5
)
"""A repair is retried a little, then left to the next run (a Stripe outage must not hold a pass up)."""

CLOSING = {
    Repair.fail_booking: (
        "payment_failed",
        "payment_failed",
        "The booking could not be completed; nothing was charged.",
    ),
    Repair.expire_request: (
        "expired",
        "booking_expired",
        "The request could not reach the host; the hold was released.",
    ),
}
"""How a booking without its process is closed: status, what the guest is told, the reason."""


def reconciler_schedule_id(task_queue: str) -> str:
    """`stayflow-reconciler` for the default task queue: one per deployment."""
    return f"{task_queue}-reconciler"


@workflow.defn(versioning_behavior=VersioningBehavior.PINNED)
class ReconcileWorkflow:
    @workflow.run
    async def run(self, request: ReconcileRequest) -> ReconcileReport:
        findings: Findings = await workflow.execute_activity_method(
            ReconcileActivities.find_inconsistencies,
            request,
            start_to_close_timeout=FIND_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        outcomes = [await self._repair(finding) for finding in findings.items]
        report = ReconcileReport(
            started_at=findings.started_at,
            outcomes=outcomes,
            found=dict(Counter(o.finding.kind for o in outcomes)),
            repaired=dict(Counter(o.finding.kind for o in outcomes if o.repaired)),
        )
        await workflow.execute_activity_method(
            ReconcileActivities.record_run, report, start_to_close_timeout=DB, retry_policy=REPAIR_RETRY
        )
        return report

    async def _step(self, activity: Any, arg: Any) -> Any:
        return await workflow.execute_activity_method(
            activity, arg, start_to_close_timeout=DB, retry_policy=REPAIR_RETRY
        )

    async def _repair(self, finding: Finding) -> RepairOutcome:
        repair = Repair(finding.repair)
        if repair == Repair.report:
            return RepairOutcome(finding, repaired=False)
        ref = BookingRef(finding.booking_id)
        try:
            if repair in CLOSING:
                status, kind, reason = CLOSING[repair]
                await self._step(PaymentActivities.release_hold, ref)
                now = await self._step(
                    BookingActivities.set_booking_status, StatusChange(ref.booking_id, status, reason)
                )
                if now != status:  # it moved meanwhile (conditional update): nothing more to do
                    return RepairOutcome(finding, repaired=False, error=f"the booking is {now}")
                message_ids = await self._step(
                    BookingActivities.notify_all, BookingNotices(ref.booking_id, [kind], reason)
                )
                await deliver_in_background(list(message_ids))
            elif repair == Repair.void_payment:
                await self._step(PaymentActivities.void_payment, ref)
            elif repair == Repair.void_change:
                await self._step(PaymentActivities.void_change, ChangeRef(ref.booking_id, finding.number))
            elif repair == Repair.record_capture:
                await self._step(PaymentActivities.capture_payment, ref)
            elif repair == Repair.record_change_capture:
                await self._step(PaymentActivities.capture_change, ChangeRef(ref.booking_id, finding.number))
            elif repair == Repair.restart_payout:
                await self._step(ReconcileActivities.restart_payout, PayoutRef(ref.booking_id))
        except ActivityError as err:
            return RepairOutcome(finding, repaired=False, error=str(err.cause or err))
        return RepairOutcome(finding, repaired=True)
