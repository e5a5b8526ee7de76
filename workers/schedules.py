"""The Temporal Schedules a deployment always has, created or brought up to date by every worker
when it starts (`stayflow worker`, and so `stayflow dev`): today the reconciler's."""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError

from stayflow.settings import Settings
from workflows.payloads.reconcile import ReconcileRequest
from workflows.reconcile import ReconcileWorkflow, reconciler_schedule_id

log = logging.getLogger("stayflow.worker")


def reconciler_schedule(settings: Settings) -> Schedule:
    schedule_id = reconciler_schedule_id(settings.task_queue)
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ReconcileWorkflow.run,
            ReconcileRequest(),  # the grace period is the worker's setting
            id=schedule_id,  # the server appends each run's time
            task_queue=settings.task_queue,
            static_summary="Reconciler: bookings, holds, captures and payouts left behind",
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(minutes=settings.reconciler_interval_minutes))]
        ),
        # A slow pass (Stripe retried) makes the next one skip: two passes never repair the same thing at once.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(note="Created by the worker at start (workers/schedules.py); see docs/operations.md."),
    )


async def ensure_reconciler_schedule(client: Client, settings: Settings) -> None:
    """Create the reconciler's Schedule, or update it to this worker's settings (idempotent: every
    worker of the deployment does it when it starts). A Temporal that refuses is logged, not fatal:
    the worker's other work goes on, and the next worker start tries again."""
    schedule_id = reconciler_schedule_id(settings.task_queue)
    schedule = reconciler_schedule(settings)
    try:
        try:
            await client.create_schedule(schedule_id, schedule)
        except ScheduleAlreadyRunningError:

            def update(current: ScheduleUpdateInput) -> ScheduleUpdate:
                # The new interval and action; paused or not stays the operator's call.
                return ScheduleUpdate(schedule=dataclasses.replace(schedule, state=current.description.schedule.state))

            await client.get_schedule_handle(schedule_id).update(update)
    except RPCError as exc:
        log.warning("could not create or update the reconciler's schedule %s: %s", schedule_id, exc)
