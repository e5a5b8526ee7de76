"""CalendarSyncWorkflow: one run fetches every feed a listing imports (issue 13).

A Temporal Schedule per listing (`calendar-sync-<listing id>`) starts a run every
`STAYFLOW_ICAL_SYNC_INTERVAL_SECONDS`; the API creates it with the listing's first feed (and runs it
at once) and deletes it with the last. Runs never overlap (a slow feed makes the next run skip).
Conflict notifications are delivered in the background, so a provider outage never holds up a sync.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, VersioningBehavior

with workflow.unsafe.imports_passed_through():
    from activities.calendar_feeds import CalendarFeedActivities
    from workflows.payloads.calendar_sync import FeedSyncResult, SyncFeed, SyncListing

from workflows.messaging import deliver_in_background

LISTING_ID = SearchAttributeKey.for_keyword("ListingId")
SYNC_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), maximum_attempts=3)
"""Only database trouble fails the activity (a bad feed is recorded, not raised); the next run retries anyway."""


def calendar_sync_schedule_id(listing_id: str) -> str:
    return f"calendar-sync-{listing_id}"


@workflow.defn(versioning_behavior=VersioningBehavior.PINNED)
class CalendarSyncWorkflow:
    @workflow.run
    async def run(self, request: SyncListing) -> list[FeedSyncResult]:
        feed_ids: list[str] = await workflow.execute_activity_method(
            CalendarFeedActivities.list_calendar_feeds,
            request,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=SYNC_RETRY,
        )
        results: list[FeedSyncResult] = []
        for feed_id in feed_ids:  # one after another: a listing's feeds are few, and the fetches stay gentle
            result: FeedSyncResult = await workflow.execute_activity_method(
                CalendarFeedActivities.sync_calendar_feed,
                SyncFeed(feed_id),
                # The fetch itself has its own deadline (STAYFLOW_ICAL_FETCH_TIMEOUT_SECONDS).
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=SYNC_RETRY,
            )
            await deliver_in_background(result.message_ids)
            results.append(result)
        return results
