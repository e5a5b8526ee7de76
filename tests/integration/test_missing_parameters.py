"""A request without a required header or query parameter is told which one, not just "not valid"."""

from __future__ import annotations

import datetime as dt

from httpx import AsyncClient

from models import Booking
from tests.factories import make_listing, signed_in_user


async def test_a_booking_without_idempotency_key_names_the_header_and_books_nothing(client: AsyncClient) -> None:
    listing = await make_listing(instant_book=True)
    guest = await signed_in_user(client)
    start = dt.date.today() + dt.timedelta(days=30)
    body = {
        "listing_id": str(listing.id),
        "check_in": start.isoformat(),
        "check_out": (start + dt.timedelta(days=2)).isoformat(),
        "guests": 2,
        "payment_method": "pm_card_visa",
    }
    response = await client.post("/api/v1/bookings", headers=guest.headers, json=body)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["detail"] == "The header Idempotency-Key is required."
    assert problem["errors"] == [
        {"field": "Idempotency-Key", "message": "the header Idempotency-Key is required", "source": "header"}
    ]
    assert await Booking.count() == 0


async def test_a_quote_without_dates_names_the_missing_query_parameter(client: AsyncClient) -> None:
    listing = await make_listing()
    response = await client.get(f"/api/v1/listings/{listing.id}/quote", params={"check_out": "2030-01-05"})
    assert response.status_code == 422
    assert [(e["field"], e["source"]) for e in response.json()["errors"]] == [("check_in", "query")]
