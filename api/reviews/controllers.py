"""Reviews (SPEC §7): written after check-out within the window, double-blind, one per author."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from api.reviews import service
from api.security import CurrentUser
from models import Review
from stayflow.settings import Settings
from stayflow.temporal import TemporalGateway

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
        review = await service.write_review(
            booking_id,
            request.user,
            rating=data.rating,
            comment=data.comment,
            categories=data.categories,
            temporal=temporal,
            settings=settings,
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
        listing, averages, rows, next_cursor = await service.reviews_of_listing(listing_id, limit=limit, cursor=cursor)
        summary = RatingSummary(average=listing.rating_average, count=listing.rating_count, categories=averages)
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
        rows, next_cursor = await service.reviews_about(user_id, limit=limit, cursor=cursor)
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
        return review_read(await service.reply_to_review(review_id, request.user, data.reply))
