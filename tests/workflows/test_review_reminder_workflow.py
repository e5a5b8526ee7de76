"""ReviewReminderWorkflow on the time-skipping server: reminders on day 1 and 7 to whoever has not
written, publication at the window's end, and early publication when both have written."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from typing import Any

from models import Booking, Listing, Message, Notification, Review
from models.identity import Role
from stayflow.settings import Settings
from tests.factories import make_booking, make_listing, make_user
from workers.main import build_worker
from workflows.review_reminders import ReviewOutcome, ReviewPeriod, ReviewReminderWorkflow, review_workflow_id


async def completed_stay() -> tuple[Booking, Any, Any]:
    host = await make_user(role=Role.host, email="host@example.com")
    guest = await make_user(email="guest@example.com")
    listing = await make_listing(host)
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(listing, guest, check_in=today - timedelta(3), check_out=today)
    now = dt.datetime.now(dt.UTC)
    await Booking.update({Booking.status: "completed", Booking.completed_at: now}).where(Booking.id == booking.id)
    await booking.refresh()
    return booking, host, guest


async def write(booking: Booking, author: Any, role: str, rating: int) -> None:
    await Review(
        booking=booking.id,
        listing=booking.listing,
        author=author.id,
        subject=booking.host if role == "guest" else booking.guest,
        author_role=role,
        rating=rating,
        categories={"cleanliness": rating} if role == "guest" else None,
    ).save()


async def reminders_to() -> list[str]:
    return sorted(m.recipient for m in await Message.objects().where(Message.kind == "review_reminder"))


async def test_reminders_on_day_1_and_7_then_publication_on_day_14(
    own_time_skipping_env: Any, settings: Settings, task_queue: str
) -> None:
    env = own_time_skipping_env
    booking, _host, guest = await completed_stay()
    assert booking.completed_at is not None
    async with build_worker(env.client, settings, task_queue=task_queue):
        handle = await env.client.start_workflow(
            ReviewReminderWorkflow.run,
            ReviewPeriod(str(booking.id), booking.completed_at.isoformat(), 14),
            id=review_workflow_id(booking.id),
            task_queue=task_queue,
        )
        await env.sleep(timedelta(hours=23))
        assert await reminders_to() == []
        await env.sleep(timedelta(hours=2))
        assert await reminders_to() == ["guest@example.com", "host@example.com"]
        await write(booking, guest, "guest", 4)
        await handle.signal(ReviewReminderWorkflow.review_written, "guest")
        await env.sleep(timedelta(days=6))  # day 7: only the host has not written
        assert await reminders_to() == ["guest@example.com", "host@example.com", "host@example.com"]
        assert (await Review.objects().first()).published_at is None  # type: ignore[union-attr]  # still blind
        outcome = await handle.result()  # day 14: the window closes
    assert outcome == ReviewOutcome(published=1, reminders_sent=[1, 7], early=False)
    [review] = await Review.objects()
    assert review.published_at is not None
    listing = await Listing.objects().get(Listing.id == booking.listing)
    assert listing is not None and (listing.rating_average, listing.rating_count) == (4.0, 1)


async def test_both_written_publishes_at_once_and_stops_reminding(
    own_time_skipping_env: Any, settings: Settings, task_queue: str
) -> None:
    env = own_time_skipping_env
    booking, host, guest = await completed_stay()
    assert booking.completed_at is not None
    async with build_worker(env.client, settings, task_queue=task_queue):
        handle = await env.client.start_workflow(
            ReviewReminderWorkflow.run,
            ReviewPeriod(str(booking.id), booking.completed_at.isoformat(), 14),
            id=review_workflow_id(booking.id),
            task_queue=task_queue,
        )
        await write(booking, guest, "guest", 5)
        await handle.signal(ReviewReminderWorkflow.review_written, "guest")
        await write(booking, host, "host", 4)
        await handle.signal(ReviewReminderWorkflow.review_written, "host")
        outcome = await handle.result()
    assert outcome == ReviewOutcome(published=2, reminders_sent=[], early=True)
    assert await reminders_to() == []
    assert all(r.published_at is not None for r in await Review.objects())
    # Each of them is told the other's review is out (SPEC §8 "review received"), once.
    told = await Message.objects().where(Message.kind == "review_received")
    assert sorted(m.recipient for m in told) == ["guest@example.com", "host@example.com"]
    assert sorted(n.user for n in await Notification.objects().where(Notification.kind == "review_received")) == sorted(
        [guest.id, host.id]
    )
