"""PaymentCaptureWorkflow (child of a booking): take the held money, record it, issue the papers.

Capture (Stripe, idempotency key from the booking) -> ledger row -> invoice and receipt ->
booking `confirmed`. Retried with backoff while Stripe is unavailable. An accepted request runs
it as a child; an instant booking runs the same steps (`capture_and_confirm`) in its own run.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import VersioningBehavior

with workflow.unsafe.imports_passed_through():
    from activities.bookings import BookingActivities
    from activities.documents import DocumentActivities
    from activities.payments import PaymentActivities
    from workflows.payloads.booking import BookingRef, CaptureResult, StatusChange


from workflows.policies import DB, PROVIDER_RETRY


def capture_workflow_id(booking_id: str) -> str:
    return f"payment-capture-{booking_id}"


async def capture_and_confirm(ref: BookingRef) -> CaptureResult:
    """The capture and its records, from inside any workflow: Stripe's capture as an activity
    (retried with backoff), then the database-only steps as local activities, in the worker
    without a round trip through the server each (still retried, idempotent)."""
    captured = await workflow.execute_activity_method(
        PaymentActivities.capture_payment, ref, start_to_close_timeout=DB, retry_policy=PROVIDER_RETRY
    )
    documents = await workflow.execute_local_activity_method(
        DocumentActivities.issue_invoice_and_receipt, ref, start_to_close_timeout=DB
    )
    await workflow.execute_local_activity_method(
        BookingActivities.set_booking_status, StatusChange(ref.booking_id, "confirmed"), start_to_close_timeout=DB
    )
    return CaptureResult(captured=captured, documents=list(documents))


@workflow.defn(versioning_behavior=VersioningBehavior.PINNED)
class PaymentCaptureWorkflow:
    @workflow.run
    async def run(self, ref: BookingRef) -> CaptureResult:
        return await capture_and_confirm(ref)
