"""Delivering a recorded message (email or SMS) from inside any workflow: retried with backoff
for as long as a provider outage lasts (up to a day), then marked failed; never raises to the
caller. Messages are recorded by `activities.notifications.record_notification`.

Deliveries run on their own task queue (`<the run's queue>-deliveries`), served by the worker's
delivery slots, so an email or SMS provider that hangs holds up its own messages and never the
activity slots the payment steps need (`workers/main.py`)."""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.common import VersioningBehavior
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.notifications import NotificationActivities
    from workflows.payloads.notifications import DeliverMessage, DeliverMessages, MessageFailed, NotificationRequest

from workflows.policies import DB, DELIVERY_DEADLINE, DELIVERY_RETRY


def delivery_task_queue(task_queue: str) -> str:
    """Where the deliveries of the runs on `task_queue` go (the worker serves both)."""
    return f"{task_queue}-deliveries"


async def deliver_message(message_id: str) -> bool:
    """True when the provider took the message."""
    try:
        await workflow.execute_activity_method(
            NotificationActivities.send_message,
            DeliverMessage(message_id),
            task_queue=delivery_task_queue(workflow.info().task_queue),
            start_to_close_timeout=DB,
            schedule_to_close_timeout=DELIVERY_DEADLINE,
            retry_policy=DELIVERY_RETRY,
        )
        return True
    except ActivityError as err:
        await workflow.execute_activity_method(
            NotificationActivities.mark_message_failed,
            MessageFailed(message_id, str(err.cause or err)),
            start_to_close_timeout=DB,
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
            task_queue=delivery_task_queue(workflow.info().task_queue),
            # One attempt sends them one after another: as long as each alone would get, so that a
            # slow provider does not make the server start a second attempt beside the first.
            start_to_close_timeout=DB * max(2, len(message_ids)),
            schedule_to_close_timeout=DELIVERY_DEADLINE,
            retry_policy=DELIVERY_RETRY,
        )
        return True
    except ActivityError as err:
        for message_id in message_ids:  # only those still unsent are marked failed
            await workflow.execute_activity_method(
                NotificationActivities.mark_message_failed,
                MessageFailed(message_id, str(err.cause or err)),
                start_to_close_timeout=DB,
            )
        return False


@workflow.defn(versioning_behavior=VersioningBehavior.PINNED)
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


@workflow.defn(versioning_behavior=VersioningBehavior.PINNED)
class NotifyWorkflow:
    """Records and delivers one notification for an event that happened outside any process
    (an admin's action, a chat message): started by the API, one run per event."""

    @workflow.run
    async def run(self, request: NotificationRequest) -> int:
        message_ids: list[str] = await workflow.execute_activity_method(
            NotificationActivities.record, request, start_to_close_timeout=DB
        )
        delivered = await asyncio.gather(*(deliver_message(m) for m in message_ids))
        return sum(delivered)
