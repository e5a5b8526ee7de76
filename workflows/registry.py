"""Every Stayflow workflow, listed once: the worker runs them, the replay tests replay them and
the admin metrics count them. (Not in `workflows/__init__.py`: the sandbox imports that package
for every workflow module it loads.)"""

from __future__ import annotations

from workflows.booking import BookingWorkflow
from workflows.booking_change import BookingChangeWorkflow
from workflows.cancellation import CancellationRefundWorkflow
from workflows.listing_approval import ListingApprovalWorkflow
from workflows.message_digest import MessageDigestWorkflow
from workflows.messaging import DeliverMessageWorkflow, NotifyWorkflow
from workflows.password_reset import PasswordResetWorkflow
from workflows.payment_capture import PaymentCaptureWorkflow
from workflows.review_reminders import ReviewReminderWorkflow

WORKFLOWS: tuple[type, ...] = (
    PasswordResetWorkflow,
    ListingApprovalWorkflow,
    BookingWorkflow,
    PaymentCaptureWorkflow,
    CancellationRefundWorkflow,
    BookingChangeWorkflow,
    ReviewReminderWorkflow,
    DeliverMessageWorkflow,
    NotifyWorkflow,
    MessageDigestWorkflow,
)
