"""Reviews (SPEC §7): who may write one and when, storing it once per author, telling the
reminders' workflow, and reading the published ones. Plain inputs in, rows or `Problem`s out."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

import asyncpg

from api.accounts.service import public_user
from api.bookings.reads import load_booking_for
from api.calendar.service import current_platform
from api.errors import Problem, caused_by, field_errors
from api.listings.service import load_visible_listing
from api.pagination import keyset
from api.posting_limits import count_post
from api.security import CurrentUser
from models import Listing, Review
from stayflow.rules.reviews import CATEGORIES, categories_problem, review_problem
from stayflow.rules.roles import Role
from stayflow.settings import Settings
from stayflow.temporal import TemporalGateway
from workflows.payloads.reviews import ReviewPeriod
from workflows.review_reminders import ReviewReminderWorkflow, review_workflow_id


async def write_review(
    booking_id: UUID,
    author: CurrentUser,
    *,
    rating: int,
    comment: str,
    categories: dict[str, int] | None,
    temporal: TemporalGateway,
    settings: Settings,
) -> Review:
    """The guest reviews the stay, the host the guest; hidden until both have written or the window closes."""
    booking = await load_booking_for(booking_id, author)
    await count_post(author.id, "review")
    if author.id not in (booking.guest, booking.host):
        raise Problem(404, "No such booking.")
    role = Role.guest if author.id == booking.guest else Role.host
    # The window the stay was booked with (bookings from before the snapshot: the current one).
    window = booking.review_window_days or (await current_platform()).review_window_days
    now = dt.datetime.now(dt.UTC)
    if problem := review_problem(status=booking.status, completed_at=booking.completed_at, now=now, window_days=window):
        raise Problem(409, problem, slug="review-not-open")
    if problem := categories_problem(role, categories):
        raise Problem(422, f"categories: {problem}", errors=field_errors(("categories", problem)))
    review = Review(
        booking=booking.id,
        listing=booking.listing,
        author=author.id,
        subject=booking.host if role == Role.guest else booking.guest,
        author_role=role,
        rating=rating,
        categories=categories,
        comment=comment.strip(),
    )
    try:
        await review.save()
    except Exception as exc:
        if caused_by(exc, asyncpg.exceptions.UniqueViolationError):
            raise Problem(409, "You already reviewed this stay.", slug="duplicate-review") from exc
        raise
    assert booking.completed_at is not None
    client = await temporal.client()
    # Signal-with-start: the reminders' run exists for stays completed since it was introduced;
    # for older ones the first review starts it, with deadlines still counted from check-out.
    await client.start_workflow(
        ReviewReminderWorkflow.run,
        ReviewPeriod(str(booking.id), booking.completed_at.isoformat(), window),
        id=review_workflow_id(booking.id),
        task_queue=settings.task_queue,
        start_signal="review_written",
        start_signal_args=[role],
    )
    return review


async def reviews_of_listing(
    listing_id: UUID, *, limit: int, cursor: str | None
) -> tuple[Listing, dict[str, float | None], list[dict[str, Any]], str | None]:
    """Guests' published reviews of a listing, newest first, with the listing and its category averages."""
    listing = await load_visible_listing(listing_id, None)
    published = (Review.listing == listing.id) & (Review.author_role == Role.guest) & Review.published_at.is_not_null()
    rows, next_cursor = await keyset(
        Review.select().where(published),
        time_column=Review.created_at,
        id_column=Review.id,
        limit=limit,
        cursor=cursor,
        newest_first=True,
    )
    averages = await Review.raw(
        "SELECT "
        + ", ".join(f"round(avg((categories->>'{c}')::int)::numeric, 2)::float8 AS {c}" for c in CATEGORIES)
        + " FROM reviews WHERE listing = {} AND author_role = 'guest' AND published_at IS NOT NULL",
        listing.id,
    )
    return listing, {c: averages[0][c] for c in CATEGORIES}, rows, next_cursor


async def reviews_about(user_id: UUID, *, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Published reviews about a user, newest first (none shown for a suspended account)."""
    user = await public_user(user_id)
    return await keyset(
        Review.select().where((Review.subject == user.id) & Review.published_at.is_not_null()),
        time_column=Review.created_at,
        id_column=Review.id,
        limit=limit,
        cursor=cursor,
        newest_first=True,
    )


async def reply_to_review(review_id: UUID, host: CurrentUser, reply: str) -> Review:
    """The host answers a guest's published review of their listing, once."""
    review = await Review.objects().get(Review.id == review_id)
    listing = await Listing.objects().get(Listing.id == review.listing) if review else None
    if review is None or listing is None or listing.host != host.id or review.author_role != Role.guest:
        raise Problem(404, "No such review of your listings.")
    if review.published_at is None:
        raise Problem(409, "You can answer once the review is published.", slug="review-not-published")
    answered = (
        await Review.update({Review.reply: reply.strip(), Review.replied_at: dt.datetime.now(dt.UTC)})
        .where((Review.id == review.id) & Review.reply.is_null())
        .returning(Review.id)
    )
    if not answered:
        raise Problem(409, "You already answered this review.", slug="duplicate-reply")
    fresh = await Review.objects().get(Review.id == review.id)
    assert fresh is not None
    return fresh
