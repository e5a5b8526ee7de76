"""Every Stayflow workflow, listed once: the worker runs them, the replay tests replay them and
the admin metrics count them. (Not in `workflows/__init__.py`: the sandbox imports that package
for every workflow module it loads.)"""

from __future__ import annotations

from workflows.booking import BookingWorkflow
from workflows.booking_change import BookingChangeWorkflow
from workflows.calendar_sync import CalendarSyncWorkflow
from workflows.cancellation import CancellationRefundWorkflow
from workflows.dispute import DisputeWorkflow
from workflows.listing_approval import ListingApprovalWorkflow
from workflows.message_digest import MessageDigestWorkflow
from workflows.messaging import DeliverMessageWorkflow, NotifyWorkflow
from workflows.password_reset import PasswordResetWorkflow
from workflows.payment_capture import PaymentCaptureWorkflow
from workflows.payout import PayoutWorkflow
from workflows.reconcile import ReconcileWorkflow
from workflows.review_reminders import ReviewReminderWorkflow

# Versioning behavior (set in each `@workflow.defn`): PINNED runs finish on the build that started
# them, so they need no patches; AUTO_UPGRADE runs move to each newly promoted build, so their
# changes (after the first release) go through `workflow.patched`.
WORKFLOWS: tuple[type, ...] = (
    PasswordResetWorkflow,  # PINNED: one activity and one delivery, seconds
    ListingApprovalWorkflow,  # AUTO_UPGRADE: waits days for an admin, reminding every few hours
    BookingWorkflow,  # AUTO_UPGRADE: lives from request to the end of the stay, weeks or months
    PaymentCaptureWorkflow,  # PINNED: capture and documents, seconds (longer only during a Stripe outage)
    CancellationRefundWorkflow,  # PINNED: settle and refund, seconds
    BookingChangeWorkflow,  # PINNED: authorize, move dates, charge or refund, seconds
    ReviewReminderWorkflow,  # AUTO_UPGRADE: spans the review window (days)
    DeliverMessageWorkflow,  # PINNED: one send, retried at most DELIVERY_DEADLINE (a day) in an outage
    NotifyWorkflow,  # PINNED: record and deliver, seconds
    MessageDigestWorkflow,  # AUTO_UPGRADE: runs as long as a conversation stays lively (continues as new)
    CalendarSyncWorkflow,  # PINNED: one sync of a listing's feeds, seconds (started by its Schedule)
    PayoutWorkflow,  # AUTO_UPGRADE: waits from capture until after check-in (weeks or months)
    DisputeWorkflow,  # AUTO_UPGRADE: waits for the bank's decision (weeks, up to months)
    ReconcileWorkflow,  # PINNED: one pass of the reconciler, seconds (started by its Schedule)
)
