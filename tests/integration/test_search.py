"""Search: every filter and sort of SPEC §5, cursor pagination, and only published listings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from httpx import AsyncClient

from models import Booking, CalendarBlock, Listing
from stayflow.rules.roles import Role
from tests.factories import make_listing, make_user

TODAY = dt.datetime.now(dt.UTC).date()


def day(offset: int) -> dt.date:
    return TODAY + dt.timedelta(days=offset)


async def search(client: AsyncClient, **params: Any) -> list[str]:
    response = await client.get("/api/v1/listings", params=params)
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


async def seed() -> dict[str, Listing]:
    host = await make_user(role=Role.host)
    homes = {
        "canal": await make_listing(host, title="canal", nightly_price=12_000, amenities=["wifi", "kitchen"]),
        "pool villa": await make_listing(host, title="pool villa", nightly_price=40_000, max_guests=8, beds=4,
                                         amenities=["wifi", "pool"], instant_book=False,
                                         latitude=52.36, longitude=4.90),
        "budget room": await make_listing(host, title="budget room", nightly_price=5_000, max_guests=1, beds=1,
                                          amenities=["wifi"], latitude=52.30, longitude=4.80),
        "paris flat": await make_listing(host, title="paris flat", city="Paris", country="FR", latitude=48.8566,
                                         longitude=2.3522, nightly_price=15_000, amenities=["wifi", "pool"]),
        "draft": await make_listing(host, title="draft", status="draft"),
        "suspended": await make_listing(host, title="suspended", status="suspended"),
    }  # fmt: skip
    return homes


async def test_only_published_listings_are_found(client: AsyncClient) -> None:
    await seed()
    assert await search(client) == ["budget room", "canal", "paris flat", "pool villa"]


async def test_filters(client: AsyncClient) -> None:
    await seed()
    assert await search(client, city="amsterdam") == ["budget room", "canal", "pool villa"]
    assert await search(client, country="FR") == ["paris flat"]
    assert await search(client, min_price=10_000, max_price=20_000) == ["canal", "paris flat"]
    assert await search(client, guests=5) == ["pool villa"]
    assert await search(client, amenities="wifi,pool") == ["paris flat", "pool villa"]
    assert await search(client, instant_book="false") == ["pool villa"]
    # 52.3752,4.8840 is the canal; the villa is ~2.0 km away, the budget room ~10.1 km, Paris ~430 km.
    assert await search(client, near="52.3752,4.8840", radius_km=1.9) == ["canal"]
    assert await search(client, near="52.3752,4.8840", radius_km=3) == ["canal", "pool villa"]
    assert await search(client, near="52.3752,4.8840", radius_km=12) == ["budget room", "canal", "pool villa"]
    assert await search(client, near="52.3752,4.8840", radius_km=500) == [
        "budget room", "canal", "paris flat", "pool villa",
    ]  # fmt: skip


async def test_distance_is_reported_for_radius_search(client: AsyncClient) -> None:
    await seed()
    items = (await client.get("/api/v1/listings", params={"near": "52.3752,4.8840", "radius_km": 3})).json()["items"]
    distances = {i["title"]: i["distance_km"] for i in items}
    assert distances["canal"] == 0.0 and 1.95 < distances["pool villa"] < 2.1


async def test_dates_exclude_blocked_and_booked_homes(client: AsyncClient) -> None:
    homes = await seed()
    guest = await make_user()
    await CalendarBlock(listing=homes["canal"].id, start_date=day(10), end_date=day(12)).save()
    await Booking(listing=homes["pool villa"].id, guest=guest.id, check_in=day(11), check_out=day(14), guests=2,
                  status="confirmed").save()  # fmt: skip
    await Booking(listing=homes["budget room"].id, guest=guest.id, check_in=day(11), check_out=day(14), guests=1,
                  status="cancelled").save()  # fmt: skip
    assert await search(client, city="Amsterdam", check_in=day(11).isoformat(), check_out=day(13).isoformat()) == [
        "budget room"
    ]
    # Check-out day of a stay is free for the next check-in: [check_in, check_out).
    assert await search(client, city="Amsterdam", check_in=day(14).isoformat(), check_out=day(16).isoformat()) == [
        "budget room", "canal", "pool villa",
    ]  # fmt: skip
    assert await search(client, city="Amsterdam", check_in=day(8).isoformat(), check_out=day(10).isoformat()) == [
        "budget room", "canal", "pool villa",
    ]  # fmt: skip


async def test_sorts(client: AsyncClient) -> None:
    homes = await seed()
    await Listing.update({Listing.rating_average: 4.9, Listing.rating_count: 12}).where(
        Listing.id == homes["budget room"].id
    )
    await Listing.update({Listing.rating_average: 4.2, Listing.rating_count: 3}).where(Listing.id == homes["canal"].id)
    await Listing.update({Listing.published_at: dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)}).where(
        Listing.id == homes["paris flat"].id
    )
    assert await search(client, sort="price_desc") == ["pool villa", "paris flat", "canal", "budget room"]
    assert (await search(client, sort="rating"))[:2] == ["budget room", "canal"]
    assert (await search(client, sort="newest"))[0] == "paris flat"


async def test_cursor_pagination_walks_every_result_once(client: AsyncClient) -> None:
    host = await make_user(role=Role.host)
    for i in range(7):
        await make_listing(host, title=f"home {i}", nightly_price=10_000 + (i % 3) * 1000)  # ties on price
    for sort in ("price_asc", "price_desc", "rating", "newest"):
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 3, "sort": sort} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/api/v1/listings", params=params)).json()
            seen += [i["title"] for i in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == [f"home {i}" for i in range(7)], sort


async def test_bad_search_input_is_422(client: AsyncClient) -> None:
    cases: list[dict[str, Any]] = [
        {"near": "north pole"}, {"near": "91,0"}, {"radius_km": -1, "near": "1,1"}, {"amenities": "wifi,helipad"},
        {"check_in": day(5).isoformat()}, {"check_in": day(5).isoformat(), "check_out": day(3).isoformat()},
        {"check_in": day(-5).isoformat(), "check_out": day(3).isoformat()}, {"min_price": 500, "max_price": 100},
        {"sort": "cheapest"}, {"limit": 0}, {"guests": "many"},
    ]  # fmt: skip
    for params in cases:
        response = await client.get("/api/v1/listings", params=params)
        assert response.status_code == 422, (params, response.text)
    assert (await client.get("/api/v1/listings", params={"min_price": 99_999_999_999})).status_code == 422
    garbage = await client.get("/api/v1/listings", params={"cursor": "!!"})
    assert garbage.status_code == 400
    import base64
    import json

    def forged(*parts: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")

    ident = "00000000-0000-0000-0000-000000000001"
    for sort, cursor in [("price_asc", forged("price_asc", 1e30, ident)), ("price_asc", forged("price_asc", 5, 5)),
                         ("rating", forged("rating", "nan", ident)),
                         ("newest", forged("newest", "0001-01-01T00:00:00+05:00", ident)),
                         ("newest", forged("newest", "2026-01-01T00:00:00", ident)),
                         ("rating", forged("price_asc", 100, ident))]:  # fmt: skip
        response = await client.get("/api/v1/listings", params={"sort": sort, "cursor": cursor})
        assert response.status_code == 400, (sort, cursor, response.text)
