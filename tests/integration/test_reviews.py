"""Reviews through the API, the real worker and the Temporal dev server: double-blind, one per
author, only after check-out and within the window, rating summary, one public reply."""

from __future__ import annotations

import datetime as dt
from typing import Any

from httpx import AsyncClient

from models import Booking, Review
from stayflow.rules.roles import Role
from tests.factories import make_booking, make_listing, make_user, sign_in
from tests.helpers import eventually

GUEST_REVIEW = {
    "rating": 5,
    "comment": "Spotless and bright.",
    "categories": {"cleanliness": 5, "accuracy": 5, "communication": 4, "location": 5, "check_in": 5, "value": 4},
}


async def stay(status: str = "completed", completed_days_ago: int = 0) -> tuple[Booking, Any, Any]:
    host = await make_user(role=Role.host)
    guest = await make_user()
    listing = await make_listing(host)
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(listing, guest, check_in=today - dt.timedelta(4), check_out=today)
    completed_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=completed_days_ago)
    await Booking.update(
        {Booking.status: status, Booking.completed_at: completed_at if status == "completed" else None}
    ).where(Booking.id == booking.id)
    return booking, host, guest


async def test_double_blind_until_both_have_written(client: AsyncClient, worker: None) -> None:
    booking, host_user, guest_user = await stay()
    guest, host = await sign_in(client, guest_user), await sign_in(client, host_user)
    written = await client.post(f"/api/v1/bookings/{booking.id}/reviews", headers=guest.headers, json=GUEST_REVIEW)
    assert written.status_code == 201, written.text
    assert written.json()["published"] is False
    listing_reviews = await client.get(f"/api/v1/listings/{booking.listing}/reviews")
    assert listing_reviews.json()["items"] == []  # hidden while the host has not written
    again = await client.post(f"/api/v1/bookings/{booking.id}/reviews", headers=guest.headers, json=GUEST_REVIEW)
    assert again.status_code == 409

    host_review = await client.post(
        f"/api/v1/bookings/{booking.id}/reviews", headers=host.headers, json={"rating": 4, "comment": "Tidy guest."}
    )
    assert host_review.status_code == 201

    async def published() -> list[Any]:
        return list((await client.get(f"/api/v1/listings/{booking.listing}/reviews")).json()["items"])

    await eventually(published, what="the reviews to be published once both had written")
    body = (await client.get(f"/api/v1/listings/{booking.listing}/reviews")).json()
    assert [r["comment"] for r in body["items"]] == ["Spotless and bright."]
    assert body["summary"]["average"] == 5.0 and body["summary"]["count"] == 1
    assert body["summary"]["categories"]["communication"] == 4.0
    about_guest = (await client.get(f"/api/v1/users/{guest_user.id}/reviews")).json()["items"]
    assert [r["comment"] for r in about_guest] == ["Tidy guest."]

    review_id = body["items"][0]["id"]
    reply = await client.post(f"/api/v1/reviews/{review_id}/reply", headers=host.headers, json={"reply": "Thanks!"})
    assert reply.status_code == 200 and reply.json()["reply"] == "Thanks!"
    twice = await client.post(f"/api/v1/reviews/{review_id}/reply", headers=host.headers, json={"reply": "Again"})
    assert twice.status_code == 409
    not_host = await client.post(f"/api/v1/reviews/{review_id}/reply", headers=guest.headers, json={"reply": "Me"})
    assert not_host.status_code == 404


async def test_reviews_that_cannot_be_written(client: AsyncClient, worker: None) -> None:
    confirmed, _, confirmed_guest = await stay(status="confirmed")
    late, _, late_guest = await stay(completed_days_ago=15)
    done, _, done_guest = await stay()
    stranger = await sign_in(client, await make_user())
    cases = [
        (confirmed_guest, confirmed.id, GUEST_REVIEW, 409),  # before completion
        (late_guest, late.id, GUEST_REVIEW, 409),  # after the 14-day window
        (stranger.user, done.id, GUEST_REVIEW, 404),  # not their booking
        (done_guest, done.id, GUEST_REVIEW | {"rating": 6}, 422),
        (done_guest, done.id, GUEST_REVIEW | {"rating": 0}, 422),
        (done_guest, done.id, {"rating": 4}, 422),  # a guest rates every category
        (done_guest, done.id, GUEST_REVIEW | {"categories": {"cleanliness": 9}}, 422),
    ]
    for user, booking_id, body, status in cases:
        signed = await sign_in(client, user)
        response = await client.post(f"/api/v1/bookings/{booking_id}/reviews", headers=signed.headers, json=body)
        assert response.status_code == status, (body, response.text)
    assert await Review.count() == 0
