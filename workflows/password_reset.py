"""PasswordResetWorkflow: mint a reset token for an email address and deliver it.

Started for every forgot-password request, known address or not, so the API answers every
request the same way in the same time; the activity decides whether an account exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.accounts import AccountActivities
    from workflows.payloads.accounts import PasswordResetRequest

from workflows.messaging import deliver_message


@dataclass(frozen=True)
class PasswordResetOutcome:
    account_found: bool
    delivered: bool


@workflow.defn
class PasswordResetWorkflow:
    @workflow.run
    async def run(self, request: PasswordResetRequest) -> PasswordResetOutcome:
        message_id = await workflow.execute_activity_method(
            AccountActivities.issue_password_reset,
            request,
            start_to_close_timeout=timedelta(seconds=30),
        )
        if message_id is None:
            return PasswordResetOutcome(account_found=False, delivered=False)
        delivered = await deliver_message(message_id)
        return PasswordResetOutcome(account_found=True, delivered=delivered)
