"""Calendar blocks and price overrides, live availability, and quotes that follow the money rules."""

from __future__ import annotations

import datetime as dt

from httpx import AsyncClient

from models import Booking, CalendarBlock, PlatformSettings, PriceOverride
from models.identity import Role
from tests.factories import make_listing, make_user, signed_in_user
from tests.helpers import day


async def test_calendar_replace_and_read(client: AsyncClient) -> None:
    host = await signed_in_user(client, role=Role.host)
    listing = await make_listing(host.user)
    body = {
        "blocks": [{"start": day(10), "end": day(12)}],
        "price_overrides": [{"start": day(20), "end": day(22), "nightly_price": 20_000}],
    }
    put = await client.put(f"/api/v1/listings/{listing.id}/calendar", headers=host.headers, json=body)
    assert put.status_code == 200, put.text
    assert put.json() == body
    replaced = await client.put(f"/api/v1/listings/{listing.id}/calendar", headers=host.headers,
                                json={"blocks": [{"start": day(30), "end": day(31)}]})  # fmt: skip
    assert replaced.json() == {"blocks": [{"start": day(30), "end": day(31)}], "price_overrides": []}
    assert await CalendarBlock.count() == 1 and await PriceOverride.count() == 0


async def test_bad_calendars_are_refused_and_change_nothing(client: AsyncClient) -> None:
    host = await signed_in_user(client, role=Role.host)
    listing = await make_listing(host.user)
    await client.put(f"/api/v1/listings/{listing.id}/calendar", headers=host.headers,
                     json={"blocks": [{"start": day(5), "end": day(6)}]})  # fmt: skip
    for body in (
        {"blocks": [{"start": day(12), "end": day(10)}]},
        {"blocks": [{"start": day(-3), "end": day(2)}]},
        {"price_overrides": [{"start": day(1), "end": day(5), "nightly_price": 0}]},
        {"price_overrides": [{"start": day(1), "end": day(5), "nightly_price": 9000},
                             {"start": day(4), "end": day(8), "nightly_price": 9500}]},
        {"blocks": [{"start": "tomorrow", "end": day(3)}]},
    ):  # fmt: skip
        response = await client.put(f"/api/v1/listings/{listing.id}/calendar", headers=host.headers, json=body)
        assert response.status_code in (400, 422), body
    stranger = await signed_in_user(client, role=Role.host)
    other = await client.put(f"/api/v1/listings/{listing.id}/calendar", headers=stranger.headers, json={"blocks": []})
    assert other.status_code == 404
    calendar = (await client.get(f"/api/v1/listings/{listing.id}/calendar", headers=host.headers)).json()
    assert calendar["blocks"] == [{"start": day(5), "end": day(6)}]


async def test_availability_combines_blocks_overrides_and_bookings(client: AsyncClient) -> None:
    host = await signed_in_user(client, role=Role.host)
    listing = await make_listing(host.user, nightly_price=10_000)
    await client.put(f"/api/v1/listings/{listing.id}/calendar", headers=host.headers, json={
        "blocks": [{"start": day(2), "end": day(3)}],
        "price_overrides": [{"start": day(4), "end": day(6), "nightly_price": 13_000}],
    })  # fmt: skip
    guest = await make_user()
    today = dt.datetime.now(dt.UTC).date()
    await Booking(listing=listing.id, guest=guest.id, check_in=today + dt.timedelta(5),
                  check_out=today + dt.timedelta(7), guests=2, status="confirmed").save()  # fmt: skip
    await Booking(listing=listing.id, guest=guest.id, check_in=today + dt.timedelta(7),
                  check_out=today + dt.timedelta(8), guests=2, status="cancelled").save()  # fmt: skip
    far = await client.get(f"/api/v1/listings/{listing.id}/availability", params={"from": "9999-12-31"})
    assert far.status_code == 422
    response = await client.get(f"/api/v1/listings/{listing.id}/availability", params={"from": day(1), "to": day(9)})
    assert response.status_code == 200
    days = {d["date"]: (d["available"], d["nightly_price"]) for d in response.json()["days"]}
    assert days == {
        day(1): (True, 10_000), day(2): (False, 10_000), day(3): (True, 10_000), day(4): (True, 13_000),
        day(5): (False, 13_000), day(6): (False, 10_000), day(7): (True, 10_000), day(8): (True, 10_000),
    }  # fmt: skip


async def test_quote_follows_the_money_rules_to_the_cent(client: AsyncClient) -> None:
    host = await signed_in_user(client, role=Role.host)
    listing = await make_listing(host.user, nightly_price=10_050, cleaning_fee=3_333)
    await client.put(f"/api/v1/listings/{listing.id}/calendar", headers=host.headers, json={
        "price_overrides": [{"start": day(11), "end": day(12), "nightly_price": 14_999}],
    })  # fmt: skip
    await PlatformSettings.update({PlatformSettings.tax_bps: 725}).where(PlatformSettings.id == 1)
    response = await client.get(f"/api/v1/listings/{listing.id}/quote",
                                params={"check_in": day(10), "check_out": day(13), "guests": 2})  # fmt: skip
    assert response.status_code == 200, response.text
    quote = response.json()
    assert quote["nightly"] == [
        {"date": day(10), "price": 10_050, "kind": "base"}, {"date": day(11), "price": 14_999, "kind": "override"},
        {"date": day(12), "price": 10_050, "kind": "base"},
    ]  # fmt: skip
    assert quote["adjustments"] == []
    assert quote["nights"] == 3 and quote["subtotal"] == 35_099
    assert quote["cleaning_fee"] == 3_333
    assert quote["service_fee"] == 4_212  # 12% of 350.99 = 42.1188 -> 42.12
    assert quote["taxes"] == 2_786  # 7.25% of (350.99 + 33.33) = 27.8632 -> 27.86
    assert quote["total"] == 35_099 + 3_333 + 4_212 + 2_786
    assert quote["currency"] == "EUR"


async def test_quotes_that_cannot_be_booked(client: AsyncClient) -> None:
    host = await signed_in_user(client, role=Role.host)
    listing = await make_listing(host.user, max_guests=4, min_nights=2)
    await client.put(f"/api/v1/listings/{listing.id}/calendar", headers=host.headers,
                     json={"blocks": [{"start": day(20), "end": day(21)}]})  # fmt: skip
    url = f"/api/v1/listings/{listing.id}/quote"
    cases: list[tuple[dict[str, str | int], int]] = [
        ({"check_in": day(10), "check_out": day(10)}, 422),
        ({"check_in": day(10), "check_out": day(8)}, 422),
        ({"check_in": day(-2), "check_out": day(1)}, 422),
        ({"check_in": day(10), "check_out": day(13), "guests": 5}, 422),
        ({"check_in": day(10), "check_out": day(11)}, 422),
        ({"check_in": day(19), "check_out": day(22)}, 409),
        ({"check_in": "soon", "check_out": day(22)}, 422),
    ]
    for params, status in cases:
        response = await client.get(url, params=params)
        assert response.status_code == status, (params, response.text)
    draft = await make_listing(host.user, status="draft")
    assert (await client.get(f"/api/v1/listings/{draft.id}/quote",
                             params={"check_in": day(10), "check_out": day(13)})).status_code == 404  # fmt: skip
