"""Side effects of the review process: reminders and publication (with the rating summary)."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from temporalio import activity

from activities.notifications import record_notification
from models import Booking, Listing, Review, User
from stayflow import templates
from stayflow.settings import Settings
from workflows.payloads.reviews import Publication, ReviewReminder


class ReviewActivities:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @activity.defn
    async def remind_reviewers(self, reminder: ReviewReminder) -> list[str]:
        """Email whoever of guest and host has not written yet (once per day of reminder)."""
        booking = await Booking.objects().get(Booking.id == UUID(reminder.booking_id))
        assert booking is not None
        listing = await Listing.objects().get(Listing.id == booking.listing)
        assert listing is not None
        written = {r["author"] for r in await Review.select(Review.author).where(Review.booking == booking.id)}
        ids = []
        for user_id, kind in ((booking.guest, "review_reminder_guest"), (listing.host, "review_reminder_host")):
            if user_id in written:
                continue
            user = await User.objects().get(User.id == user_id)
            assert user is not None
            url = f"{self.settings.public_url.rstrip('/')}/api/v1/bookings/{booking.id}/reviews"
            ids += await record_notification(
                user_id=user.id,
                kind="review_reminder",
                dedupe_key=f"review_reminder:{booking.id}:{reminder.day}:{user.id}",
                notice=templates.review_reminder_email(
                    full_name=user.full_name,
                    title=listing.title,
                    day=reminder.day,
                    guest=kind.endswith("guest"),
                    url=url,
                ),
                link=url,
            )
        return ids

    @activity.defn
    async def tell_reviewees(self, publication: Publication) -> list[str]:
        """Tell whoever was reviewed that the review is public (once per review)."""
        reviews = await Review.objects().where(
            (Review.booking == UUID(publication.booking_id)) & Review.published_at.is_not_null()
        )
        ids: list[str] = []
        for review in reviews:
            reviewee = await User.objects().get(User.id == review.subject)
            listing = await Listing.objects().get(Listing.id == review.listing)
            if reviewee is None or listing is None:
                continue
            url = f"{self.settings.public_url.rstrip('/')}/api/v1/users/{reviewee.id}/reviews"
            ids += await record_notification(
                user_id=reviewee.id,
                kind="review_received",
                dedupe_key=f"review_received:{review.id}",
                notice=templates.review_received_email(
                    full_name=reviewee.full_name,
                    title=listing.title,
                    rating=review.rating,
                    by_guest=review.author_role == "guest",
                    url=url,
                ),
                link=url,
            )
        return ids

    @activity.defn
    async def publish_reviews(self, publication: Publication) -> int:
        """Make the booking's reviews public and refresh the listing's rating summary."""
        booking = await Booking.objects().get(Booking.id == UUID(publication.booking_id))
        assert booking is not None
        async with Review._meta.db.transaction():
            published = (
                await Review.update({Review.published_at: dt.datetime.now(dt.UTC)})
                .where((Review.booking == booking.id) & Review.published_at.is_null())
                .returning(Review.id)
            )
            await Listing.raw(
                """UPDATE listings SET
                     rating_average = (SELECT round(avg(rating)::numeric, 2)::float8 FROM reviews
                                       WHERE listing = {} AND author_role = 'guest' AND published_at IS NOT NULL),
                     rating_count = (SELECT count(*) FROM reviews
                                     WHERE listing = {} AND author_role = 'guest' AND published_at IS NOT NULL)
                   WHERE id = {}""",
                booking.listing,
                booking.listing,
                booking.listing,
            )
        return len(published)
