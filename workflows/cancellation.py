"""CancellationRefundWorkflow (child of a booking): settle the money, release the nights, tell both.

The refund was decided by the API with `stayflow.rules.refunds` (and answered before any money
moved); this process carries it out: an uncaptured hold is voided, a captured payment is
refunded through Stripe (idempotency key from the booking) with a ledger row and a credit
note, then the booking is `cancelled` (its nights free) and guest and host are told.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.bookings import BookingActivities
    from activities.payments import PaymentActivities
    from workflows.payloads.booking import BookingNotice, StatusChange
    from workflows.payloads.cancellation import CancellationRequest, Settlement, SettlementResult

from workflows.messaging import deliver_in_background
from workflows.policies import PROVIDER_RETRY


def cancellation_workflow_id(booking_id: str) -> str:
    return f"cancellation-{booking_id}"


@workflow.defn
class CancellationRefundWorkflow:
    @workflow.run
    async def run(self, request: CancellationRequest) -> SettlementResult:
        result: SettlementResult = await workflow.execute_activity_method(
            PaymentActivities.settle_cancellation,
            Settlement(request.booking_id, request.refund, request.lines, request.captured),
            start_to_close_timeout=timedelta(seconds=30), retry_policy=PROVIDER_RETRY,
        )  # fmt: skip
        await workflow.execute_activity_method(
            BookingActivities.set_booking_status,
            StatusChange(request.booking_id, "cancelled", f"Cancelled by the {request.cancelled_by}: {request.reason}"),
            start_to_close_timeout=timedelta(seconds=30),
        )  # fmt: skip
        for kind in ("booking_cancelled", "booking_cancelled_host"):
            message_ids = await workflow.execute_activity_method(
                BookingActivities.notify, BookingNotice(request.booking_id, kind, request.reason),
                start_to_close_timeout=timedelta(seconds=30),
            )  # fmt: skip
            await deliver_in_background(message_ids)
        return result
