"""Calendar sync's rules behind the API (issue 13): the secret export feed, the imported feeds and
their Temporal Schedule. Handlers in `api.calendar_feeds` parse, authorize and shape; this owns the
queries, the transactions and the schedule."""

from __future__ import annotations

import datetime as dt
import secrets
from datetime import timedelta
from urllib.parse import urlsplit
from uuid import UUID

from asyncpg.exceptions import UniqueViolationError
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
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from api.errors import Problem, caused_by, field_errors
from api.listings.service import audit_if_admin
from api.security import CurrentUser
from api.validation import today
from models import Booking, CalendarBlock, CalendarFeed, Listing, ListingCalendarToken
from models.bookings import HOLDS_DATES
from stayflow.audit import Actor
from stayflow.calendar_sync.fetch import FeedRefused, check_feed_url, feed_fetch_policy
from stayflow.calendar_sync.ical import ExportedStay, export_calendar
from stayflow.settings import Settings
from stayflow.temporal import TemporalGateway
from workflows.calendar_sync import LISTING_ID, CalendarSyncWorkflow, calendar_sync_schedule_id
from workflows.payloads.calendar_sync import SyncListing

MAX_FEEDS_PER_LISTING = 10


def export_url(settings: Settings, listing_id: UUID, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/api/v1/listings/{listing_id}/calendar.ics?token={token}"


async def export_token(listing_id: UUID) -> ListingCalendarToken:
    """The listing's export token, made on first use (two first uses at once make one)."""
    await ListingCalendarToken.raw(
        """INSERT INTO listing_calendar_tokens (id, listing, token, rotated_at)
           VALUES (gen_random_uuid(), {}, {}, now()) ON CONFLICT (listing) DO NOTHING""",
        listing_id,
        secrets.token_urlsafe(32),
    )
    row = await ListingCalendarToken.objects().get(ListingCalendarToken.listing == listing_id)
    assert row is not None
    return row


async def rotate_export_token(listing: Listing, user: CurrentUser, *, actor: Actor) -> ListingCalendarToken:
    """A new secret: every copy of the old URL stops working at once. An admin's rotation of
    another's export is audited (never the secret itself)."""
    await export_token(listing.id)
    async with Listing._meta.db.transaction():
        await ListingCalendarToken.update(
            {
                ListingCalendarToken.token: secrets.token_urlsafe(32),
                ListingCalendarToken.rotated_at: dt.datetime.now(dt.UTC),
            }
        ).where(ListingCalendarToken.listing == listing.id)
        await audit_if_admin(user, actor, listing, "listing.calendar_token_rotate")
    return await export_token(listing.id)


async def exported_calendar(listing_id: UUID, token: str) -> bytes | None:
    """The listing's feed, or None for an unknown listing or a wrong token (the caller's 404).

    It carries the nights Stayflow itself closes: bookings holding dates and the host's own blocks.
    Nights imported from other platforms are left out, so two platforms importing each other's
    feeds never echo a block back to where it came from (and a block removed there stays removed).
    Events carry no guest data: only "Reserved" or "Not available"."""
    stored = await ListingCalendarToken.objects().get(ListingCalendarToken.listing == listing_id)
    if stored is None or not token or not secrets.compare_digest(stored.token.encode(), token.encode()):
        return None
    listing = await Listing.objects().get(Listing.id == listing_id)
    if listing is None:
        return None
    first = today()
    bookings = await Booking.select(Booking.id, Booking.check_in, Booking.check_out).where(
        (Booking.listing == listing_id) & Booking.status.is_in(list(HOLDS_DATES)) & (Booking.check_out > first)
    )
    blocks = await CalendarBlock.select(CalendarBlock.id, CalendarBlock.start_date, CalendarBlock.end_date).where(
        (CalendarBlock.listing == listing_id) & CalendarBlock.feed.is_null() & (CalendarBlock.end_date > first)
    )
    stays = [ExportedStay(f"booking-{b['id']}@stayflow", b["check_in"], b["check_out"], "Reserved") for b in bookings]
    # The nights kept free around each stay (stayflow.rules.preparation) are closed elsewhere too,
    # or another platform would sell the night the host keeps for cleaning.
    if gap := dt.timedelta(days=listing.preparation_days):
        for b in bookings:
            stays += [
                ExportedStay(f"booking-{b['id']}-before@stayflow", b["check_in"] - gap, b["check_in"], "Not available"),
                ExportedStay(
                    f"booking-{b['id']}-after@stayflow", b["check_out"], b["check_out"] + gap, "Not available"
                ),
            ]
    stays += [
        ExportedStay(f"block-{b['id']}@stayflow", b["start_date"], b["end_date"], "Not available") for b in blocks
    ]
    stays.sort(key=lambda s: (s.start, s.uid))
    return export_calendar(name=f"Stayflow: {listing.title}", stays=stays, stamp=dt.datetime.now(dt.UTC))


async def listing_feeds(listing_id: UUID) -> list[CalendarFeed]:
    return (
        await CalendarFeed.objects()
        .where(CalendarFeed.listing == listing_id)
        .order_by(CalendarFeed.created_at)
        .order_by(CalendarFeed.id)
    )


async def blocked_nights_by_feed(listing_id: UUID) -> dict[UUID, int]:
    rows = await CalendarBlock.raw(
        """SELECT feed, sum(end_date - greatest(start_date, {})) AS nights FROM calendar_blocks
           WHERE listing = {} AND feed IS NOT NULL AND end_date > {} GROUP BY feed""",
        today(),
        listing_id,
        today(),
    )
    return {row["feed"]: int(row["nights"]) for row in rows}


async def add_feed(
    listing: Listing,
    url: str,
    name: str,
    user: CurrentUser,
    *,
    actor: Actor,
    settings: Settings,
    temporal: TemporalGateway,
) -> CalendarFeed:
    """Check the URL against the SSRF rules, record the feed, and have its schedule fetch it now.
    An admin adding a feed to another's listing is audited in the feed's transaction."""
    url = url.strip()
    try:
        await check_feed_url(url, feed_fetch_policy(settings))
    except FeedRefused as exc:
        raise Problem(
            422,
            f"url: this feed URL is refused: {exc.reason}.",
            slug="feed-url-refused",
            errors=field_errors(("url", exc.reason)),
        ) from exc
    if f"/api/v1/listings/{listing.id}/calendar.ics" in url:
        reason = "this is the listing's own export feed"
        raise Problem(422, f"url: {reason}.", errors=field_errors(("url", reason)))
    async with Listing._meta.db.transaction():
        await Listing.raw("SELECT id FROM listings WHERE id = {} FOR UPDATE", listing.id)
        if await CalendarFeed.count().where(CalendarFeed.listing == listing.id) >= MAX_FEEDS_PER_LISTING:
            raise Problem(
                409, f"A listing imports at most {MAX_FEEDS_PER_LISTING} calendar feeds.", slug="too-many-feeds"
            )
        feed = CalendarFeed(listing=listing.id, url=url, name=name.strip())
        try:
            await feed.save()
        except Exception as exc:
            if caused_by(exc, UniqueViolationError):
                raise Problem(409, "This listing already imports that feed URL.", slug="duplicate-feed") from exc
            raise
        # The feed's host, not its URL: other platforms' feed URLs carry their own secrets.
        audited = {"feed_id": str(feed.id), "name": feed.name, "host": urlsplit(url).hostname or ""}
        await audit_if_admin(user, actor, listing, "listing.calendar_feed_add", after=audited)
    try:
        await start_sync(await temporal.client(), settings, listing.id)
    except (RPCError, OSError, TimeoutError) as exc:
        await CalendarFeed.delete().where(CalendarFeed.id == feed.id)
        raise Problem(503, "Calendar sync is unavailable right now; try again shortly.") from exc
    return feed


async def remove_feed(
    listing: Listing, feed_id: UUID, user: CurrentUser, *, actor: Actor, temporal: TemporalGateway
) -> None:
    """Delete the feed and the nights it blocked; the listing's schedule goes with its last feed.
    An admin removing a feed of another's listing is audited in the same transaction."""
    async with Listing._meta.db.transaction():
        await Listing.raw("SELECT id FROM listings WHERE id = {} FOR UPDATE", listing.id)
        deleted = (
            await CalendarFeed.delete()
            .where((CalendarFeed.id == feed_id) & (CalendarFeed.listing == listing.id))
            .returning(CalendarFeed.id, CalendarFeed.name, CalendarFeed.url)
        )
        if not deleted:
            raise Problem(404, "No such calendar feed.")
        before = {"feed_id": str(feed_id), "name": deleted[0]["name"], "host": urlsplit(deleted[0]["url"]).hostname}
        await audit_if_admin(user, actor, listing, "listing.calendar_feed_remove", before=before)
        remaining = await CalendarFeed.count().where(CalendarFeed.listing == listing.id)
    if remaining == 0:
        await stop_sync(await temporal.client(), listing.id)


async def start_sync(client: Client, settings: Settings, listing_id: UUID) -> None:
    """Create the listing's schedule (running it at once), or run the existing one now."""
    schedule_id = calendar_sync_schedule_id(str(listing_id))
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            CalendarSyncWorkflow.run,
            SyncListing(str(listing_id)),
            id=schedule_id,  # the server appends each run's time
            task_queue=settings.task_queue,
            typed_search_attributes=TypedSearchAttributes([SearchAttributePair(LISTING_ID, str(listing_id))]),
            static_summary=f"Calendar sync of listing {listing_id}",
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(seconds=settings.ical_sync_interval_seconds))]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(note="Fetches the listing's imported iCal feeds (created with its first feed)."),
    )
    try:
        await client.create_schedule(schedule_id, schedule, trigger_immediately=True)
    except ScheduleAlreadyRunningError:
        # A feed added while a run is under way still gets its own run next.
        await client.get_schedule_handle(schedule_id).trigger(overlap=ScheduleOverlapPolicy.BUFFER_ONE)


async def stop_sync(client: Client, listing_id: UUID) -> None:
    try:
        await client.get_schedule_handle(calendar_sync_schedule_id(str(listing_id))).delete()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
