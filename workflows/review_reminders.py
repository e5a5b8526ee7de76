"""ReviewReminderWorkflow: from check-out to the reviews' publication (SPEC §7).

Started when a stay completes (or by the first review, for a stay that completed before this
process existed). Whoever has not written is reminded on day 1 and day 7 after check-out; the
reviews are published when both have written (the `review_written` signal) or when the window
closes, whichever comes first. Deadlines count from check-out, not from the run's start.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.reviews import ReviewActivities
    from stayflow.rules.reviews import REMINDER_DAYS
    from workflows.payloads.reviews import Publication, ReviewOutcome, ReviewPeriod, ReviewReminder

from workflows.messaging import deliver_message

DB = timedelta(seconds=30)


def review_workflow_id(booking_id: object) -> str:
    return f"review-reminders-{booking_id}"


@workflow.defn
class ReviewReminderWorkflow:
    def __init__(self) -> None:
        self._written: set[str] = set()

    @workflow.signal
    def review_written(self, role: str) -> None:
        self._written.add(role)

    @workflow.query
    def written(self) -> list[str]:
        return sorted(self._written)

    def _both(self) -> bool:
        return {"guest", "host"} <= self._written

    async def _wait_until(self, moment: dt.datetime) -> bool:
        """True when both wrote before `moment`."""
        remaining = moment - workflow.now()
        if remaining > timedelta(0):
            try:
                await workflow.wait_condition(self._both, timeout=remaining)
            except TimeoutError:
                pass
        return self._both()

    @workflow.run
    async def run(self, period: ReviewPeriod) -> ReviewOutcome:
        start = dt.datetime.fromisoformat(period.completed_at)
        reminded: list[int] = []
        deliveries: list[asyncio.Task[bool]] = []
        early = False
        for day in REMINDER_DAYS:
            if day >= period.window_days:
                break
            if await self._wait_until(start + timedelta(days=day)):
                early = True
                break
            message_ids = await workflow.execute_activity_method(
                ReviewActivities.remind_reviewers, ReviewReminder(period.booking_id, day), start_to_close_timeout=DB
            )
            deliveries += [asyncio.create_task(deliver_message(m)) for m in message_ids]
            reminded.append(day)
        if not early:
            early = await self._wait_until(start + timedelta(days=period.window_days))
        published = await workflow.execute_activity_method(
            ReviewActivities.publish_reviews, Publication(period.booking_id), start_to_close_timeout=DB
        )
        if published and workflow.patched("review-received"):
            # Since notifications: each reviewee is told their review is out (SPEC §8 "review received").
            message_ids = await workflow.execute_activity_method(
                ReviewActivities.tell_reviewees, Publication(period.booking_id), start_to_close_timeout=DB
            )
            deliveries += [asyncio.create_task(deliver_message(m)) for m in message_ids]
        await asyncio.gather(*deliveries)
        return ReviewOutcome(published=published, reminders_sent=reminded, early=early)
