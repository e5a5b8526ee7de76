"""Delivering a recorded message (email or SMS) from inside any workflow: retried with backoff
for as long as a provider outage lasts (up to a day), then marked failed; never raises to the
caller. Messages are recorded by `activities.notifications.record_notification`."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.notifications import NotificationActivities
    from workflows.payloads.notifications import DeliverMessage, DeliverMessages, MessageFailed, NotificationRequest

DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
)
DELIVERY_DEADLINE = timedelta(days=1)


async def deliver_message(message_id: str) -> bool:
    """True when the provider took the message."""
    try:
        await workflow.execute_activity_method(
            NotificationActivities.send_message,
            DeliverMessage(message_id),
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=DELIVERY_DEADLINE,
            retry_policy=DELIVERY_RETRY,
        )
        return True
    except ActivityError as err:
        await workflow.execute_activity_method(
            NotificationActivities.mark_message_failed,
            MessageFailed(message_id, str(err.cause or err)),
            start_to_close_timeout=timedelta(seconds=30),
        )
        return False


async def deliver_messages(message_ids: list[str]) -> bool:
    """Deliver the messages of one event in one activity (retried like `deliver_message`; what is
    sent stays sent). True when the providers took them all."""
    if not message_ids:
        return True
    try:
        await workflow.execute_activity_method(
            NotificationActivities.send_messages,
            DeliverMessages(message_ids),
            # One attempt sends them one after another: as long as each alone would get, so that a
            # slow provider does not make the server start a second attempt beside the first.
            start_to_close_timeout=timedelta(seconds=30) * max(2, len(message_ids)),
            schedule_to_close_timeout=DELIVERY_DEADLINE,
            retry_policy=DELIVERY_RETRY,
        )
        return True
    except ActivityError as err:
        for message_id in message_ids:  # only those still unsent are marked failed
            await workflow.execute_activity_method(
                NotificationActivities.mark_message_failed,
                MessageFailed(message_id, str(err.cause or err)),
                start_to_close_timeout=timedelta(seconds=30),
            )
        return False


deliver_email = deliver_message
"""The name from before SMS; both channels go through `deliver_message`."""


@workflow.defn
class DeliverMessageWorkflow:
    """Delivers one recorded message on its own, so a provider outage never holds up the
    process that caused it."""

    @workflow.run
    async def run(self, request: DeliverMessage) -> bool:
        return await deliver_message(request.message_id)


async def deliver_in_background(message_ids: list[str]) -> None:
    """Start one delivery per message and go on: the deliveries outlive their parent."""
    for message_id in message_ids:
        try:
            await workflow.start_child_workflow(
                DeliverMessageWorkflow.run,
                DeliverMessage(message_id),
                id=f"deliver-message-{message_id}",
                parent_close_policy=ParentClosePolicy.ABANDON,
                static_summary="Deliver a notification",
            )
        except WorkflowAlreadyStartedError:
            pass  # this message is already on its way: one delivery per message


def notify_workflow_id(dedupe_key: str) -> str:
    return f"notify-{dedupe_key}"


@workflow.defn
class NotifyWorkflow:
    """Records and delivers one notification for an event that happened outside any process
    (an admin's action, a chat message): started by the API, one run per event."""

    @workflow.run
    async def run(self, request: NotificationRequest) -> int:
        message_ids: list[str] = await workflow.execute_activity_method(
            NotificationActivities.record, request, start_to_close_timeout=timedelta(seconds=30)
        )
        delivered = await asyncio.gather(*(deliver_message(m) for m in message_ids))
        return sum(delivered)
