"""The demo marketplace's listings (no database): what `stayflow seed-demo` promises to show."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace
from typing import Any

from api.listings.schemas import ListingCreate
from stayflow.demo.photos import room_photo
from stayflow.demo.seed import SCENARIOS, _listing_rows
from stayflow.images import check_image

HOSTS: Any = [SimpleNamespace(id=uuid.uuid4()) for _ in range(12)]


def test_a_few_hundred_listings_across_a_dozen_cities_under_every_policy() -> None:
    rows = _listing_rows(HOSTS, dt.date(2026, 12, 1))
    assert len(rows) == 300 and len({r["city"] for r in rows}) == 12
    assert {r["cancellation_policy"] for r in rows} == {"flexible", "moderate", "strict"}
    assert {r["instant_book"] for r in rows} == {True, False}
    assert {"apartment", "house", "room", "cabin", "villa", "guesthouse"} <= {r["property_type"] for r in rows}
    assert "JPY" in {r["currency"] for r in rows}  # a zero-decimal currency too
    assert len({r["id"] for r in rows}) == 300
    assert rows == _listing_rows(HOSTS, dt.date(2026, 12, 1))  # the same ids every run: a second seed adds nothing


def test_every_demo_listing_is_one_the_api_would_accept() -> None:
    import msgspec

    for row in _listing_rows(HOSTS, dt.date(2026, 12, 1)):
        fields = {k: v for k, v in row.items() if k not in ("id", "host")}
        msgspec.convert(fields, ListingCreate)  # raises on a field the API refuses


def test_the_booking_scenarios_book_where_they_say() -> None:
    rows = {(r["city"], i % 25): r for i, r in enumerate(_listing_rows(HOSTS, dt.date(2026, 12, 1)))}
    cities = sorted({city for city, _ in rows}, key=lambda c: [r["city"] for r in rows.values()].index(c))
    for s in SCENARIOS:
        listing = rows[(cities[s.city], 0 if s.instant else 1)]
        assert listing["instant_book"] is s.instant and listing["min_nights"] <= s.nights, s.name


def test_demo_photos_are_real_jpegs_the_upload_check_accepts() -> None:
    photo = check_image(room_photo(3))
    assert photo.content_type == "image/jpeg" and (photo.width, photo.height) == (800, 533)
    assert room_photo(3) == room_photo(3) and room_photo(3) != room_photo(4)


def test_the_demo_host_and_guest_have_phones_the_platform_may_text() -> None:
    """They are seeded verified (SMS go only to verified numbers), and must pass the SMS rules."""
    from stayflow.demo.seed import DEMO_PHONES, GUEST_EMAIL, HOST_EMAIL
    from stayflow.rules.notifications import sms_destination_problem
    from stayflow.settings import Settings

    assert set(DEMO_PHONES) == {HOST_EMAIL, GUEST_EMAIL}
    for phone in DEMO_PHONES.values():
        assert sms_destination_problem(phone, Settings().sms_regions) is None
