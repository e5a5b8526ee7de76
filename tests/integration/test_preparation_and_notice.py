"""Preparation time and minimum notice through the API: the host's two settings, availability's
reasons, quotes, bookings (racing ones included), changes and search."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from httpx import AsyncClient

from models import Booking, Listing
from models.identity import Role
from stayflow.rules.preparation import local_today
from tests.factories import LISTING_FIELDS, make_listing, make_user, signed_in_user
from tests.helpers import book, change, date_in, day, stay, wait_status


async def confirmed_stay(listing: Listing, start: int, nights: int) -> Booking:
    """Another guest's stay holding its nights (straight to the database)."""
    guest = await make_user()
    booking = Booking(listing=listing.id, guest=guest.id, host=listing.host, check_in=date_in(start),
                      check_out=date_in(start + nights), guests=2, status="confirmed")  # fmt: skip
    await booking.save()
    return booking


async def quote(client: AsyncClient, listing: Listing, start: int, end: int) -> Any:
    return await client.get(
        f"/api/v1/listings/{listing.id}/quote", params={"check_in": day(start), "check_out": day(end)}
    )


async def titles(client: AsyncClient, **params: Any) -> list[str]:
    response = await client.get("/api/v1/listings", params=params)
    assert response.status_code == 200, response.text
    return sorted(item["title"] for item in response.json()["items"])


async def test_hosts_set_preparation_time_and_notice_within_their_ranges(client: AsyncClient) -> None:
    host = await signed_in_user(client, role=Role.host)
    created = await client.post("/api/v1/listings", headers=host.headers,
                                json=LISTING_FIELDS | {"preparation_days": 1, "min_notice_days": 3})  # fmt: skip
    assert created.status_code == 201, created.text
    assert (created.json()["preparation_days"], created.json()["min_notice_days"]) == (1, 3)
    plain = await client.post("/api/v1/listings", headers=host.headers, json=LISTING_FIELDS)
    assert (plain.json()["preparation_days"], plain.json()["min_notice_days"]) == (0, 0)
    url = f"/api/v1/listings/{created.json()['id']}"
    edited = await client.patch(url, headers=host.headers, json={"preparation_days": 2, "min_notice_days": 0})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["preparation_days"], edited.json()["min_notice_days"]) == (2, 0)
    for bad in ({"preparation_days": 3}, {"preparation_days": -1}, {"min_notice_days": 8}, {"min_notice_days": -1},
                {"preparation_days": 1.5}):  # fmt: skip
        refused = await client.patch(url, headers=host.headers, json=bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert [e["field"] for e in refused.json()["errors"]] == [next(iter(bad))]
        again = await client.post("/api/v1/listings", headers=host.headers, json=LISTING_FIELDS | bad)
        assert again.status_code == 422, (bad, again.text)
    stored = await Listing.objects().get(Listing.id == created.json()["id"])
    assert stored is not None and (stored.preparation_days, stored.min_notice_days) == (2, 0)
    assert await Listing.count() == 2


async def test_availability_shows_preparation_and_notice_days(client: AsyncClient) -> None:
    listing = await make_listing(preparation_days=1, min_notice_days=2)
    await confirmed_stay(listing, 10, 2)  # nights 10 and 11
    await confirmed_stay(listing, 15, 1)  # night 15: 14 and 16 are its preparation time
    response = await client.get(f"/api/v1/listings/{listing.id}/availability", params={"from": day(-1), "to": day(18)})
    assert response.status_code == 200, response.text
    reasons = {d["date"]: d["reason"] for d in response.json()["days"]}
    assert {d: r for d, r in reasons.items() if r is not None} == {
        day(-1): "past", day(0): "notice", day(1): "notice",
        day(9): "preparation", day(10): "taken", day(11): "taken", day(12): "preparation",
        day(14): "preparation", day(15): "taken", day(16): "preparation",
    }  # fmt: skip
    assert all(d["available"] == (d["reason"] is None) for d in response.json()["days"])
    # The host drops preparation time: the nights around the stays open at once.
    await Listing.update({Listing.preparation_days: 0}).where(Listing.id == listing.id)
    days = (await client.get(f"/api/v1/listings/{listing.id}/availability",
                             params={"from": day(9), "to": day(13)})).json()["days"]  # fmt: skip
    assert [d["reason"] for d in days] == [None, "taken", "taken", None]


async def test_quotes_refuse_preparation_nights_and_check_ins_without_notice(client: AsyncClient) -> None:
    listing = await make_listing(preparation_days=2, min_notice_days=3, time_zone="Pacific/Kiritimati")
    await confirmed_stay(listing, 20, 3)  # nights 20-22; 18, 19, 23 and 24 kept free
    after = await quote(client, listing, 24, 27)
    assert after.status_code == 409, after.text
    assert after.json()["type"].endswith("/preparation-time") and after.json()["unavailable"] == [day(24)]
    before = await quote(client, listing, 16, 19)
    assert before.status_code == 409 and before.json()["unavailable"] == [day(18)]
    overlapping = await quote(client, listing, 21, 26)
    assert overlapping.status_code == 409 and overlapping.json()["type"].endswith("/dates-unavailable")
    assert (await quote(client, listing, 25, 28)).status_code == 200
    assert (await quote(client, listing, 15, 18)).status_code == 200
    # Three days' notice on the Line Islands' clock (UTC+14: often a day ahead of UTC).
    earliest = local_today(dt.datetime.now(dt.UTC), "Pacific/Kiritimati") + dt.timedelta(days=3)
    offset = (earliest - date_in(0)).days
    soon = await quote(client, listing, offset - 1, offset + 2)
    assert soon.status_code == 422, soon.text
    assert soon.json()["type"].endswith("/min-notice") and soon.json()["earliest_check_in"] == earliest.isoformat()
    assert soon.json()["errors"][0]["field"] == "check_in"
    assert (await quote(client, listing, offset, offset + 2)).status_code == 200


async def test_a_booking_within_the_preparation_time_is_refused_and_one_outside_it_is_made(
    client: AsyncClient, worker: None
) -> None:
    listing = await make_listing(instant_book=True, preparation_days=1)
    first = await book(client, await signed_in_user(client), stay(listing, start=10, nights=2))
    assert first.status_code == 201, first.text
    guest = await signed_in_user(client)
    for start, nights in ((12, 2), (8, 2), (11, 1)):
        refused = await book(client, guest, stay(listing, start=start, nights=nights))
        assert refused.status_code == 409, (start, refused.text)
        kind = "dates-unavailable" if start == 11 else "preparation-time"
        assert refused.json()["type"].endswith(kind), refused.text
    after = await book(client, guest, stay(listing, start=13, nights=2))
    assert after.status_code == 201, after.text
    before = await book(client, await signed_in_user(client), stay(listing, start=7, nights=2))
    assert before.status_code == 201, before.text
    assert await Booking.count() == 3


async def test_a_check_in_sooner_than_the_notice_cannot_be_booked(client: AsyncClient, worker: None) -> None:
    listing = await make_listing(instant_book=True, min_notice_days=2, time_zone="Pacific/Pago_Pago")
    earliest = local_today(dt.datetime.now(dt.UTC), "Pacific/Pago_Pago") + dt.timedelta(days=2)
    offset = (earliest - date_in(0)).days
    guest = await signed_in_user(client)
    refused = await book(client, guest, stay(listing, start=offset - 1, nights=2))
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith("/min-notice")
    assert await Booking.count() == 0
    made = await book(client, guest, stay(listing, start=offset, nights=2))
    assert made.status_code == 201, made.text


async def test_racing_bookings_that_would_break_the_preparation_time_have_one_winner(
    client: AsyncClient, worker: None
) -> None:
    # Back to back, the two stays share no night (the exclusion constraint lets both in): only the
    # preparation time, judged under the listing's lock, tells them apart.
    listings = [await make_listing(instant_book=True, preparation_days=1) for _ in range(4)]
    guests = [await signed_in_user(client) for _ in range(2 * len(listings))]
    asked = [(guests[2 * i + side], stay(home, start=10 + 2 * side, nights=2))
             for i, home in enumerate(listings) for side in (0, 1)]  # fmt: skip
    answers = await asyncio.gather(*(book(client, g, body) for g, body in asked))
    for i, home in enumerate(listings):
        pair = [answers[2 * i].status_code, answers[2 * i + 1].status_code]
        assert sorted(pair) == [201, 409], (pair, [a.text for a in answers[2 * i : 2 * i + 2]])
        assert await Booking.count().where(Booking.listing == home.id) == 1
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["type"].endswith(("/preparation-time", "/dates-unavailable")), answer.text


async def test_a_change_into_the_preparation_time_is_refused(client: AsyncClient, worker: None) -> None:
    listing = await make_listing(instant_book=True, preparation_days=1, nightly_price=10_000, cleaning_fee=5_000)
    await confirmed_stay(listing, 20, 2)  # nights 20 and 21
    guest = await signed_in_user(client)
    mine = (await book(client, guest, stay(listing, start=14, nights=3))).json()
    await wait_status(mine["id"], "confirmed")
    closer = await change(client, guest, mine["id"], {"check_out": day(20)})
    assert closer.status_code == 409, closer.text
    assert closer.json()["type"].endswith("/preparation-time") and closer.json()["unavailable"] == [day(19)]
    longer = await change(client, guest, mine["id"], {"check_out": day(19)})
    assert longer.status_code == 200, longer.text
    row = await Booking.objects().get(Booking.id == mine["id"])
    assert row is not None and row.check_out == date_in(19)


async def test_notice_judges_a_changes_new_check_in_not_the_booked_one(client: AsyncClient, worker: None) -> None:
    listing = await make_listing(instant_book=True, nightly_price=10_000, cleaning_fee=5_000)
    guest = await signed_in_user(client)
    mine = (await book(client, guest, stay(listing, start=2, nights=2))).json()
    await wait_status(mine["id"], "confirmed")
    await Listing.update({Listing.min_notice_days: 5}).where(Listing.id == listing.id)
    # Staying a night longer keeps the check-in booked before the notice existed: fine.
    longer = await change(client, guest, mine["id"], {"check_out": day(5)})
    assert longer.status_code == 200, longer.text
    # A new check-in sooner than five days is not.
    moved = await change(client, guest, mine["id"], {"check_in": day(3), "check_out": day(6)})
    assert moved.status_code == 422, moved.text
    assert moved.json()["type"].endswith("/min-notice")
    row = await Booking.objects().get(Booking.id == mine["id"])
    assert row is not None and (row.check_in, row.check_out) == (date_in(2), date_in(5))


async def test_search_leaves_out_homes_whose_preparation_time_or_notice_the_dates_break(client: AsyncClient) -> None:
    host = await make_user(role=Role.host)
    buffered = await make_listing(host, title="buffered", preparation_days=1)
    plain = await make_listing(host, title="plain", latitude=52.3760, longitude=4.8850)
    await make_listing(host, title="notice", min_notice_days=5, latitude=52.3745, longitude=4.8830)
    await make_listing(host, title="ahead", min_notice_days=1, time_zone="Pacific/Kiritimati",
                       latitude=52.3740, longitude=4.8845)  # fmt: skip
    for home in (buffered, plain):
        await confirmed_stay(home, 10, 2)
    earliest_ahead = (local_today(dt.datetime.now(dt.UTC), "Pacific/Kiritimati") - date_in(0)).days + 1
    every = sorted(["buffered", "plain", "notice", "ahead"])
    # The three query shapes: one level, grid cells (radius by price), gist box (radius by rating).
    shapes: list[dict[str, Any]] = [
        {"city": "Amsterdam"},
        {"near": "52.3752,4.8840", "radius_km": 5},
        {"near": "52.3752,4.8840", "radius_km": 5, "sort": "rating"},
    ]
    for shape in shapes:
        assert await titles(client, **shape, check_in=day(12), check_out=day(14)) == ["ahead", "notice", "plain"]
        assert await titles(client, **shape, check_in=day(7), check_out=day(10)) == ["ahead", "notice", "plain"]
        assert await titles(client, **shape, check_in=day(13), check_out=day(15)) == every
        assert await titles(client, **shape, check_in=day(6), check_out=day(9)) == every
        assert "notice" not in await titles(client, **shape, check_in=day(4), check_out=day(6))
        assert "notice" in await titles(client, **shape, check_in=day(5), check_out=day(7))
        too_soon = await titles(client, **shape, check_in=day(earliest_ahead - 1), check_out=day(earliest_ahead + 1))
        assert "ahead" not in too_soon
        in_time = await titles(client, **shape, check_in=day(earliest_ahead), check_out=day(earliest_ahead + 2))
        assert "ahead" in in_time
    assert await titles(client, city="Amsterdam") == every  # without dates neither rule applies
