"""Calendar sync's side effects: fetch a listing's imported feeds, replace each feed's blocks in one
transaction, and tell the host and admins when a feed closes nights a Stayflow booking holds.

Every run of a feed is idempotent: the feed's future blocks become what the feed says now, and a
conflict is told once per (feed, booking, nights), however often the schedule runs or an attempt
retries. A fetch or parse failure is not an activity failure: it is recorded on the feed
(`status`, `last_error`), the nights of the last good fetch stay blocked, and the next scheduled run
tries again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any
from uuid import UUID

from temporalio import activity

from activities.notifications import record_notification
from models import Booking, CalendarBlock, CalendarFeed, Listing, User
from models.bookings import HOLDS_DATES
from models.calendar_sync import FeedStatus
from models.identity import Role
from stayflow import templates
from stayflow.calendar_sync.fetch import FeedFetchError, FeedRefused, feed_fetch_policy, fetch_feed
from stayflow.calendar_sync.ical import FeedFormatError, parse_feed
from stayflow.rules.pricing import MAX_BOOKING_HORIZON_DAYS, nights_between
from stayflow.settings import Settings
from workflows.payloads.calendar_sync import FeedSyncResult, SyncFeed, SyncListing


class CalendarFeedActivities:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.policy = feed_fetch_policy(settings)

    @activity.defn
    async def list_calendar_feeds(self, request: SyncListing) -> list[str]:
        rows = (
            await CalendarFeed.select(CalendarFeed.id)
            .where(CalendarFeed.listing == UUID(request.listing_id))
            .order_by(CalendarFeed.created_at)
        )
        return [str(row["id"]) for row in rows]

    @activity.defn
    async def sync_calendar_feed(self, request: SyncFeed) -> FeedSyncResult:
        feed = await CalendarFeed.objects().get(CalendarFeed.id == UUID(request.feed_id))
        if feed is None:
            return FeedSyncResult(request.feed_id, "gone")
        now = dt.datetime.now(dt.UTC)
        first = now.date()
        try:
            data = await fetch_feed(feed.url, self.policy)
            parsed = parse_feed(data, first=first, last=first + dt.timedelta(days=MAX_BOOKING_HORIZON_DAYS))
        except (FeedRefused, FeedFetchError, FeedFormatError) as exc:
            reason = f"refused: {exc}" if isinstance(exc, FeedRefused) else str(exc)
            await CalendarFeed.update(
                {
                    CalendarFeed.status: FeedStatus.failed,
                    CalendarFeed.last_error: reason,
                    CalendarFeed.last_fetched_at: now,
                }
            ).where(CalendarFeed.id == feed.id)
            return FeedSyncResult(request.feed_id, FeedStatus.failed, error=reason)
        if not await self._replace_blocks(feed, parsed.ranges, first, now, parsed.skipped):
            return FeedSyncResult(request.feed_id, "gone")
        conflicts = await _conflicts(feed.listing, feed.id, first)
        await CalendarFeed.update({CalendarFeed.conflicts: conflicts}).where(CalendarFeed.id == feed.id)
        message_ids = await self._tell_conflicts(feed, conflicts)
        nights = sum((end - start).days for start, end in parsed.ranges)
        return FeedSyncResult(request.feed_id, FeedStatus.ok, nights, len(conflicts), message_ids=message_ids)

    async def _replace_blocks(
        self, feed: CalendarFeed, ranges: list[tuple[dt.date, dt.date]], first: dt.date, now: dt.datetime, skipped: int
    ) -> bool:
        """The feed's future blocks become `ranges`, in one transaction; False if the feed is gone."""
        async with CalendarFeed._meta.db.transaction():
            # The same lock as the host's calendar replacement: one writer of a listing's blocks at a time.
            await Listing.raw("SELECT id FROM listings WHERE id = {} FOR UPDATE", feed.listing)
            if not await CalendarFeed.exists().where(CalendarFeed.id == feed.id):
                return False
            mine = CalendarBlock.feed == feed.id
            await CalendarBlock.delete().where(mine & (CalendarBlock.start_date >= first))
            await CalendarBlock.update({CalendarBlock.end_date: first}).where(
                mine & (CalendarBlock.start_date < first) & (CalendarBlock.end_date > first)
            )
            if ranges:
                await CalendarBlock.insert(
                    *[CalendarBlock(listing=feed.listing, feed=feed.id, start_date=s, end_date=e) for s, e in ranges]
                )
            await CalendarFeed.update(
                {
                    CalendarFeed.status: FeedStatus.ok,
                    CalendarFeed.last_error: None,
                    CalendarFeed.last_fetched_at: now,
                    CalendarFeed.last_success_at: now,
                    CalendarFeed.events_skipped: skipped,
                }
            ).where(CalendarFeed.id == feed.id)
        return True

    async def _tell_conflicts(self, feed: CalendarFeed, conflicts: list[dict[str, Any]]) -> list[str]:
        if not conflicts:
            return []
        listing = await Listing.objects().get(Listing.id == feed.listing)
        if listing is None:
            return []
        admins = await User.objects().where((User.role == Role.admin) & User.suspended_at.is_null())
        host = await User.objects().get(User.id == listing.host)
        recipients = [u for u in [host, *admins] if u is not None]
        url = f"{self.settings.public_url.rstrip('/')}/api/v1/listings/{listing.id}/calendar/feeds"
        message_ids: list[str] = []
        for conflict in conflicts:
            # One message per booking and set of nights: a later run finding the same collision is silent.
            digest = hashlib.sha256(",".join(conflict["nights"]).encode()).hexdigest()[:16]
            for user in {u.id: u for u in recipients}.values():
                message_ids += await record_notification(
                    user_id=user.id,
                    kind="calendar_conflict",
                    dedupe_key=f"calendar_conflict:{feed.id}:{conflict['booking_id']}:{digest}:{user.id}",
                    notice=templates.calendar_conflict_email(
                        full_name=user.full_name,
                        title=listing.title,
                        feed_name=feed.name or feed.url,
                        nights=conflict["nights"],
                        check_in=conflict["check_in"],
                        check_out=conflict["check_out"],
                        url=url,
                    ),
                    link=url,
                )
        return message_ids


async def _conflicts(listing_id: UUID, feed_id: UUID, first: dt.date) -> list[dict[str, Any]]:
    """Bookings of the listing that hold nights (from `first` on) the feed's blocks close."""
    blocks = await CalendarBlock.select(CalendarBlock.start_date, CalendarBlock.end_date).where(
        (CalendarBlock.feed == feed_id) & (CalendarBlock.end_date > first)
    )
    if not blocks:
        return []
    closed = {n for b in blocks for n in nights_between(max(b["start_date"], first), b["end_date"])}
    bookings = (
        await Booking.select(Booking.id, Booking.check_in, Booking.check_out)
        .where(
            (Booking.listing == listing_id)
            & Booking.status.is_in(list(HOLDS_DATES))
            & (Booking.check_out > first)
            & (Booking.check_in < max(b["end_date"] for b in blocks))
        )
        .order_by(Booking.check_in)
    )
    found = []
    for booking in bookings:
        nights = sorted(closed.intersection(nights_between(booking["check_in"], booking["check_out"])))
        if nights:
            found.append(
                {
                    "booking_id": str(booking["id"]),
                    "check_in": booking["check_in"].isoformat(),
                    "check_out": booking["check_out"].isoformat(),
                    "nights": [n.isoformat() for n in nights],
                }
            )
    return found
