"""ListingApprovalWorkflow: automatic checks, then an admin's decision, then the outcome.

1. `begin_review` re-runs the automatic checks on the listing as it is now. Failures send it
   back to the host with the reasons (status unchanged, `review_notes` set) and the run ends.
2. Otherwise the listing is `pending_review` and the run waits for the `decide` update from
   an admin (approve, or reject with a reason). Every `listing_review_reminder_hours` it is
   still waiting, admins get a reminder.
3. The decision is applied (`published` or `rejected` with the reason) and the host is told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal
from uuid import UUID

from temporalio import workflow
from temporalio.common import VersioningBehavior

with workflow.unsafe.imports_passed_through():
    from activities.listings import ListingActivities
    from workflows.payloads.listings import AdminReminder, BeginReview, ListingDecision, ReviewStart

from workflows.messaging import deliver_in_background
from workflows.policies import DB
from workflows.search_attributes import LISTING_ID, LISTING_STATUS


def approval_workflow_id(listing_id: UUID | str) -> str:
    return f"listing-approval-{listing_id}"


@dataclass(frozen=True)
class ModerationRequest:
    listing_id: str
    host_id: str


@dataclass(frozen=True)
class Decision:
    approve: bool
    admin_id: str
    reason: str = ""


@dataclass(frozen=True)
class ModerationOutcome:
    status: Literal["published", "rejected", "returned_to_host"]
    reasons: list[str]


@workflow.defn(versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class ListingApprovalWorkflow:
    def __init__(self) -> None:
        self._decision: Decision | None = None
        self._outcome: str | None = None
        self._reminders_sent = 0

    @workflow.run
    async def run(self, request: ModerationRequest) -> ModerationOutcome:
        workflow.upsert_search_attributes([LISTING_ID.value_set(request.listing_id)])
        review_id = f"{workflow.info().workflow_id}/{workflow.info().run_id}"
        start: ReviewStart = await workflow.execute_activity_method(
            ListingActivities.begin_review,
            BeginReview(listing_id=request.listing_id, review_id=review_id),
            start_to_close_timeout=DB,
        )
        if start.problems:
            self._outcome = "returned_to_host"
            await deliver_in_background(start.message_ids)
            await workflow.wait_condition(workflow.all_handlers_finished)
            return ModerationOutcome(status="returned_to_host", reasons=start.problems)
        workflow.upsert_search_attributes([LISTING_STATUS.value_set("pending_review")])
        reminder_every = timedelta(hours=start.reminder_hours)
        while self._decision is None:
            try:
                await workflow.wait_condition(lambda: self._decision is not None, timeout=reminder_every)
            except TimeoutError:
                self._reminders_sent += 1
                message_ids = await workflow.execute_activity_method(
                    ListingActivities.remind_admins,
                    AdminReminder(
                        listing_id=request.listing_id, review_id=review_id, reminder_number=self._reminders_sent
                    ),
                    start_to_close_timeout=DB,
                )
                await deliver_in_background(message_ids)
        decision = self._decision
        outcome: Literal["published", "rejected"] = "published" if decision.approve else "rejected"
        message_ids = await workflow.execute_activity_method(
            ListingActivities.apply_decision,
            ListingDecision(listing_id=request.listing_id, review_id=review_id, approve=decision.approve,
                            admin_id=decision.admin_id, reason=decision.reason),
            start_to_close_timeout=DB,
        )  # fmt: skip
        workflow.upsert_search_attributes([LISTING_STATUS.value_set(outcome)])
        self._outcome = outcome
        await deliver_in_background(message_ids)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ModerationOutcome(status=outcome, reasons=[decision.reason] if decision.reason else [])

    @workflow.update
    async def decide(self, decision: Decision) -> str:
        """An admin's decision; answers with the listing's new status once it is applied
        (`returned_to_host` when the automatic checks failed first)."""
        self._decision = decision
        await workflow.wait_condition(lambda: self._outcome is not None)
        assert self._outcome is not None
        return self._outcome

    @decide.validator
    def _validate_decision(self, decision: Decision) -> None:
        # Accepted while the automatic checks still run: the answer waits for the outcome.
        if self._decision is not None or self._outcome is not None:
            raise ValueError("this listing is not waiting for a decision")
        if not decision.approve and not decision.reason.strip():
            raise ValueError("a rejection needs a reason for the host")

    @workflow.query
    def reminders_sent(self) -> int:
        return self._reminders_sent
