"""BookingChangeWorkflow (child of a booking): carry out one change of dates or guests.

Costs more: hold the difference -> move the dates -> capture -> invoice and receipt.
Costs less: move the dates -> refund the difference -> credit note. Nights taken meanwhile
(the exclusion constraint refuses the move) or a declined card end the change with the
booking exactly as it was and any hold released. See `activities/changes.py`.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.changes import ChangeActivities
    from activities.documents import DocumentActivities
    from activities.payments import PaymentActivities
    from workflows.payloads.booking import AuthorizationOutcome
    from workflows.payloads.change import ChangeRef, ChangeResult, ChangeStatus

from workflows.policies import DB, PROVIDER_RETRY


def change_workflow_id(booking_id: str, number: int) -> str:
    return f"booking-change-{booking_id}-{number}"


@workflow.defn
class BookingChangeWorkflow:
    @workflow.run
    async def run(self, ref: ChangeRef) -> ChangeResult:
        auth: AuthorizationOutcome = await workflow.execute_activity_method(
            PaymentActivities.authorize_change, ref, start_to_close_timeout=DB, retry_policy=PROVIDER_RETRY
        )
        if auth.outcome != "authorized":
            return await self._fail(ref, auth.message or "The card was declined.", "card_declined")
        if not await workflow.execute_activity_method(ChangeActivities.move_dates, ref, start_to_close_timeout=DB):
            await workflow.execute_activity_method(
                PaymentActivities.void_change, ref, start_to_close_timeout=DB, retry_policy=PROVIDER_RETRY
            )
            return await self._fail(ref, "Some of the new nights were just taken by another booking.", "dates_taken")
        await workflow.execute_activity_method(
            PaymentActivities.capture_change, ref, start_to_close_timeout=DB, retry_policy=PROVIDER_RETRY
        )
        await workflow.execute_activity_method(
            PaymentActivities.refund_change, ref, start_to_close_timeout=DB, retry_policy=PROVIDER_RETRY
        )
        documents = await workflow.execute_activity_method(
            DocumentActivities.issue_change_documents, ref, start_to_close_timeout=DB
        )
        return ChangeResult(applied=True, documents=documents)

    async def _fail(self, ref: ChangeRef, reason: str, code: str) -> ChangeResult:
        await workflow.execute_activity_method(
            ChangeActivities.set_change_status,
            ChangeStatus(ref.booking_id, ref.number, "failed", reason, code),
            start_to_close_timeout=DB,
        )
        return ChangeResult(applied=False, reason=reason, code=code)
