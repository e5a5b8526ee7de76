"""Reviews (SPEC §7): written after check-out within the window, double-blind, one per author."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

import asyncpg
import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from api.accounts.service import load_user
from api.booking_reads import load_booking_for
from api.calendar import current_platform
from api.errors import Problem, caused_by, field_errors
from api.listings.service import load_visible_listing
from api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, keyset
from api.security import CurrentUser
from models import Listing, Review
from stayflow.rules.reviews import CATEGORIES, categories_problem, review_problem
from stayflow.rules.roles import Role
from stayflow.settings import Settings
from stayflow.temporal import TemporalGateway
from workflows.review_reminders import ReviewPeriod, ReviewReminderWorkflow, review_workflow_id

Rating = Annotated[int, msgspec.Meta(ge=1, le=5)]


class ReviewCreate(msgspec.Struct, forbid_unknown_fields=True):
    rating: Rating
    comment: Annotated[str, msgspec.Meta(max_length=4000)] = ""
    categories: dict[str, Rating] | None = None
    """The guest's review of the stay rates every category 1-5."""


class ReplyCreate(msgspec.Struct, forbid_unknown_fields=True):
    reply: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class ReviewRead(msgspec.Struct):
    id: UUID
    booking_id: UUID
    listing_id: UUID
    author_id: UUID
    subject_id: UUID
    author_role: str
    rating: int
    categories: dict[str, int] | None
    comment: str
    created_at: dt.datetime
    published: bool
    reply: str | None


class RatingSummary(msgspec.Struct):
    average: float | None
    count: int
    categories: dict[str, float | None]


class ListingReviews(msgspec.Struct):
    summary: RatingSummary
    items: list[ReviewRead]
    next_cursor: str | None


def review_read(row: Review | dict[str, Any]) -> ReviewRead:
    r = row if isinstance(row, dict) else row.to_dict()
    return ReviewRead(
        id=r["id"],
        booking_id=r["booking"],
        listing_id=r["listing"],
        author_id=r["author"],
        subject_id=r["subject"],
        author_role=r["author_role"],
        rating=r["rating"],
        categories=r["categories"],
        comment=r["comment"],
        created_at=r["created_at"],
        published=r["published_at"] is not None,
        reply=r["reply"],
    )


class BookingReviewsController(Controller):
    path = "/api/v1/bookings/{booking_id:uuid}/reviews"
    tags = ["reviews"]

    @post(operation_id="writeReview", summary="Review the stay (guest) or the guest (host)")
    async def write(
        self,
        request: Request[CurrentUser, Any, Any],
        booking_id: FromPath[UUID],
        data: JSONBody[ReviewCreate],
        temporal: NamedDependency[TemporalGateway],
        settings: NamedDependency[Settings],
    ) -> ReviewRead:
        """Hidden until both have written or the review window closes."""
        booking = await load_booking_for(booking_id, request.user)
        if request.user.id not in (booking.guest, booking.host):
            raise Problem(404, "No such booking.")
        role = Role.guest if request.user.id == booking.guest else Role.host
        # The window the stay was booked with (bookings from before the snapshot: the current one).
        window = booking.review_window_days or (await current_platform()).review_window_days
        now = dt.datetime.now(dt.UTC)
        if problem := review_problem(
            status=booking.status, completed_at=booking.completed_at, now=now, window_days=window
        ):
            raise Problem(409, problem, slug="review-not-open")
        if problem := categories_problem(role, data.categories):
            raise Problem(422, f"categories: {problem}", errors=field_errors(("categories", problem)))
        review = Review(
            booking=booking.id,
            listing=booking.listing,
            author=request.user.id,
            subject=booking.host if role == Role.guest else booking.guest,
            author_role=role,
            rating=data.rating,
            categories=data.categories,
            comment=data.comment.strip(),
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
        return review_read(review)


class ListingReviewsController(Controller):
    path = "/api/v1/listings/{listing_id:uuid}/reviews"
    tags = ["reviews"]

    @get(
        operation_id="listingReviews",
        summary="Published reviews of a listing, with its rating summary",
        exclude_from_auth=True,
    )
    async def of_listing(
        self,
        listing_id: FromPath[UUID],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> ListingReviews:
        listing = await load_visible_listing(listing_id, None)
        published = (
            (Review.listing == listing.id) & (Review.author_role == Role.guest) & Review.published_at.is_not_null()
        )
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
        summary = RatingSummary(
            average=listing.rating_average,
            count=listing.rating_count,
            categories={c: averages[0][c] for c in CATEGORIES},
        )
        return ListingReviews(summary=summary, items=[review_read(r) for r in rows], next_cursor=next_cursor)


class UserReviewsController(Controller):
    path = "/api/v1/users/{user_id:uuid}/reviews"
    tags = ["reviews"]

    @get(operation_id="userReviews", summary="Published reviews about a user", exclude_from_auth=True)
    async def about_user(
        self,
        user_id: FromPath[UUID],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[ReviewRead]:
        user = await load_user(user_id)
        if user.suspended_at is not None:
            raise Problem(404, "No such user.")
        rows, next_cursor = await keyset(
            Review.select().where((Review.subject == user.id) & Review.published_at.is_not_null()),
            time_column=Review.created_at,
            id_column=Review.id,
            limit=limit,
            cursor=cursor,
            newest_first=True,
        )
        return Page(items=[review_read(r) for r in rows], next_cursor=next_cursor)


class ReviewRepliesController(Controller):
    path = "/api/v1/reviews/{review_id:uuid}/reply"
    tags = ["reviews"]

    @post(
        operation_id="replyToReview", summary="Host: answer a published review of your listing, once", status_code=200
    )
    async def reply(
        self, request: Request[CurrentUser, Any, Any], review_id: FromPath[UUID], data: JSONBody[ReplyCreate]
    ) -> ReviewRead:
        review = await Review.objects().get(Review.id == review_id)
        listing = await Listing.objects().get(Listing.id == review.listing) if review else None
        if review is None or listing is None or listing.host != request.user.id or review.author_role != Role.guest:
            raise Problem(404, "No such review of your listings.")
        if review.published_at is None:
            raise Problem(409, "You can answer once the review is published.", slug="review-not-published")
        answered = (
            await Review.update({Review.reply: data.reply.strip(), Review.replied_at: dt.datetime.now(dt.UTC)})
            .where((Review.id == review.id) & Review.reply.is_null())
            .returning(Review.id)
        )
        if not answered:
            raise Problem(409, "You already answered this review.", slug="duplicate-reply")
        fresh = await Review.objects().get(Review.id == review.id)
        assert fresh is not None
        return review_read(fresh)
