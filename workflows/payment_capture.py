"""PaymentCaptureWorkflow (child of a booking): take the held money, record it, issue the papers.

Capture (Stripe, idempotency key from the booking) -> ledger row -> invoice and receipt ->
booking `confirmed`. Retried with backoff while Stripe is unavailable. An accepted request runs
it as a child; an instant booking runs the same steps (`capture_and_confirm`) in its own run.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.bookings import BookingActivities
    from activities.documents import DocumentActivities
    from activities.payments import PaymentActivities
    from workflows.payloads.booking import BookingRef, CaptureResult, StatusChange


from workflows.policies import PROVIDER_RETRY


def capture_workflow_id(booking_id: str) -> str:
    return f"payment-capture-{booking_id}"


async def capture_and_confirm(ref: BookingRef) -> CaptureResult:
    """The capture and its records, from inside any workflow: Stripe's capture as an activity
    (retried with backoff), then the database-only steps as local activities, in the worker
    without a round trip through the server each (still retried, idempotent)."""
    captured = await workflow.execute_activity_method(
        PaymentActivities.capture_payment, ref, start_to_close_timeout=timedelta(seconds=30),
        retry_policy=PROVIDER_RETRY,
    )  # fmt: skip
    return CaptureResult(captured=captured, documents=await _confirm(ref))


async def _confirm(ref: BookingRef) -> list[str]:
    documents = await workflow.execute_local_activity_method(
        DocumentActivities.issue_invoice_and_receipt, ref, start_to_close_timeout=timedelta(seconds=30)
    )
    await workflow.execute_local_activity_method(
        BookingActivities.set_booking_status, StatusChange(ref.booking_id, "confirmed"),
        start_to_close_timeout=timedelta(seconds=30),
    )  # fmt: skip
    return list(documents)


@workflow.defn
class PaymentCaptureWorkflow:
    @workflow.run
    async def run(self, ref: BookingRef) -> CaptureResult:
        captured = await workflow.execute_activity_method(
            PaymentActivities.capture_payment, ref, start_to_close_timeout=timedelta(seconds=30),
            retry_policy=PROVIDER_RETRY,
        )  # fmt: skip
        if workflow.patched("capture-local-steps"):  # since bench/booking.py at 20/s: see capture_and_confirm
            return CaptureResult(captured=captured, documents=await _confirm(ref))
        documents = await workflow.execute_activity_method(
            DocumentActivities.issue_invoice_and_receipt, ref, start_to_close_timeout=timedelta(seconds=30)
        )
        await workflow.execute_activity_method(
            BookingActivities.set_booking_status, StatusChange(ref.booking_id, "confirmed"),
            start_to_close_timeout=timedelta(seconds=30),
        )  # fmt: skip
        return CaptureResult(captured=captured, documents=documents)
