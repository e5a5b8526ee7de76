"""Issue 13 item 3 through the API: a host sets discounts, a weekend price, an extra-guest fee and
seasonal minimum stays; guests see each adjustment in their quote; a booking freezes what it was
priced at; bad rules get a 422 naming the field and change nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from httpx import AsyncClient

from models import Booking, Listing, ListingPhoto, ListingSeason, PlatformSettings
from models.identity import Role
from tests.factories import LISTING_FIELDS, SignedIn, make_listing, signed_in_user
from tests.helpers import TODAY, book, change, day, eventually, stay, wait_status

RULES: dict[str, Any] = {
    "nightly_price": 10_033, "cleaning_fee": 5_000, "weekly_discount_percent": 15, "monthly_discount_percent": 30,
    "weekend_price": 12_577, "guests_included": 2, "extra_guest_fee": 1_500,
}  # fmt: skip


def first_monday(after: int) -> int:
    """The offset from today of the first Monday at least `after` days ahead."""
    return after + (7 - (TODAY + dt.timedelta(days=after)).weekday()) % 7


async def quote(client: AsyncClient, listing: Listing, start: int, nights: int, guests: int = 2) -> Any:
    params: dict[str, str | int] = {"check_in": day(start), "check_out": day(start + nights), "guests": guests}
    return await client.get(f"/api/v1/listings/{listing.id}/quote", params=params)


async def live_listing(host: SignedIn, **fields: Any) -> Listing:
    """A published listing with a photo (a published listing's edits must keep it ready for review)."""
    listing = await make_listing(host.user, **(RULES | fields))
    await ListingPhoto(listing=listing.id, storage_key=f"listings/{listing.id}/p.jpg", content_type="image/jpeg",
                       width=640, height=480, size_bytes=1000).save()  # fmt: skip
    return listing


async def test_quotes_for_a_week_a_month_a_weekend_and_extra_guests_match_the_rules_to_the_cent(
    client: AsyncClient,
) -> None:
    host = await signed_in_user(client, role=Role.host)
    listing = await live_listing(host)
    await PlatformSettings.update({PlatformSettings.tax_bps: 800}).where(PlatformSettings.id == 1)
    monday = first_monday(10)

    week = await quote(client, listing, monday, 7)
    assert week.status_code == 200, week.text
    body = week.json()
    assert [(n["price"], n["kind"]) for n in body["nightly"]] == (
        [(10_033, "base")] * 4 + [(12_577, "weekend")] * 2 + [(10_033, "base")]
    )
    assert body["adjustments"] == [{"kind": "weekly_discount", "amount": -11_298, "percent": 15, "base": 75_319,
                                    "description": "15% off stays of 7 nights or more"}]  # fmt: skip
    assert (body["subtotal"], body["service_fee"], body["taxes"], body["total"]) == (64_021, 7_683, 5_522, 82_226)

    month = (await quote(client, listing, monday, 28)).json()
    assert [a["kind"] for a in month["adjustments"]] == ["monthly_discount"]  # instead of the weekly one
    assert month["adjustments"][0]["amount"] == -90_383  # 30% of 3,012.76
    assert (month["subtotal"], month["service_fee"], month["taxes"]) == (210_893, 25_307, 17_271)
    assert month["total"] == 210_893 + 5_000 + 25_307 + 17_271

    weekend = (await quote(client, listing, monday + 4, 2)).json()  # Friday and Saturday nights
    assert [n["price"] for n in weekend["nightly"]] == [12_577, 12_577] and weekend["adjustments"] == []
    assert weekend["subtotal"] == 25_154 and weekend["service_fee"] == 3_018  # 12% of 251.54 = 30.1848
    assert weekend["total"] == 25_154 + 5_000 + 3_018 + 2_412  # 8% of 301.54 = 24.1232

    days = (await client.get(f"/api/v1/listings/{listing.id}/availability",
                             params={"from": day(monday), "to": day(monday + 7)})).json()["days"]  # fmt: skip
    assert [d["nightly_price"] for d in days] == [10_033] * 4 + [12_577] * 2 + [10_033]

    crowd = (await quote(client, listing, monday, 3, guests=4)).json()
    assert crowd["adjustments"] == [
        {"kind": "extra_guests", "amount": 9_000, "guests": 2, "fee_per_night": 1_500, "nights": 3,
         "description": "2 guests above the 2 included, 3 nights"}
    ]  # fmt: skip
    assert crowd["subtotal"] == 3 * 10_033 + 9_000 == 39_099
    assert crowd["service_fee"] == 4_692  # 12% of 390.99 = 46.9188
    assert crowd["taxes"] == 3_528  # 8% of 440.99 = 35.2792
    assert crowd["total"] == 39_099 + 5_000 + 4_692 + 3_528


async def test_a_booking_freezes_its_adjustments_and_later_rule_changes_leave_its_price(
    client: AsyncClient, worker: None, fake_stripe: Any
) -> None:
    host = await signed_in_user(client, role=Role.host)
    listing = await live_listing(host, instant_book=True)
    guest = await signed_in_user(client)
    monday = first_monday(10)
    quoted = (await quote(client, listing, monday, 7, guests=4)).json()
    created = await book(client, guest, stay(listing, start=monday, nights=7, guests=4))
    assert created.status_code == 201, created.text
    booking_id = created.json()["id"]
    await wait_status(booking_id, "confirmed")
    assert created.json()["price"] == quoted
    assert [a["kind"] for a in quoted["adjustments"]] == ["weekly_discount", "extra_guests"]
    assert created.json()["terms"]["pricing"] == {
        "weekly_discount_percent": 15, "monthly_discount_percent": 30, "weekend_price": 12_577, "guests_included": 2,
        "extra_guest_fee": 1_500,
    }  # fmt: skip
    [charge] = fake_stripe.calls("POST", "/v1/payment_intents")
    assert charge.params["amount"] == str(quoted["total"])

    # The host drops the discount and raises the fee: the booking's money stays what it was.
    edited = await client.patch(f"/api/v1/listings/{listing.id}", headers=host.headers,
                                json={"weekly_discount_percent": 0, "monthly_discount_percent": 0,
                                      "extra_guest_fee": 3_000, "weekend_price": None})  # fmt: skip
    assert edited.status_code == 200, edited.text
    assert edited.json()["status"] == "published"
    assert (edited.json()["weekly_discount_percent"], edited.json()["weekend_price"]) == (0, None)
    read = (await client.get(f"/api/v1/bookings/{booking_id}", headers=guest.headers)).json()
    assert read["price"] == quoted and read["terms"]["pricing"]["weekly_discount_percent"] == 15
    row = await Booking.objects().get(Booking.id == uuid.UUID(booking_id))
    assert row is not None and row.total == quoted["total"]

    async def invoice() -> dict[str, Any] | None:
        documents = (await client.get(f"/api/v1/bookings/{booking_id}/invoice", headers=guest.headers)).json()
        return next((d for d in documents["documents"] if d["kind"] == "invoice"), None)

    lines = (await eventually(invoice, timeout=60, what="the invoice"))["lines"]
    assert {"description": "15% off stays of 7 nights or more", "amount": quoted["adjustments"][0]["amount"]} in lines
    assert sum(line["amount"] for line in lines) == quoted["total"]  # the invoice's lines add up to what was paid

    # A change of dates is priced by the listing's rules at the time of the change.
    repriced = (await quote(client, listing, monday + 14, 7, guests=4)).json()
    assert repriced["adjustments"] == [{"kind": "extra_guests", "amount": 2 * 3_000 * 7, "guests": 2,
                                        "fee_per_night": 3_000, "nights": 7,
                                        "description": "2 guests above the 2 included, 7 nights"}]  # fmt: skip
    moved = await change(client, guest, booking_id, {"check_in": day(monday + 14), "check_out": day(monday + 21)})
    assert moved.status_code == 200, moved.text
    assert moved.json()["change"]["status"] == "applied"
    assert moved.json()["change"]["difference"] == repriced["total"] - quoted["total"]
    read = (await client.get(f"/api/v1/bookings/{booking_id}", headers=guest.headers)).json()
    assert read["price"] == repriced


async def test_seasons_set_the_minimum_stay_of_their_check_in_nights(client: AsyncClient) -> None:
    host = await signed_in_user(client, role=Role.host)
    listing = await live_listing(host, min_nights=2)
    url = f"/api/v1/listings/{listing.id}/seasons"
    seasons = {"seasons": [{"start": day(20), "end": day(40), "min_nights": 5}]}
    put = await client.put(url, headers=host.headers, json=seasons)
    assert put.status_code == 200, put.text
    assert put.json() == seasons
    assert (await client.get(url, headers=host.headers)).json() == seasons
    public = (await client.get(f"/api/v1/listings/{listing.id}")).json()
    assert public["seasons"] == seasons["seasons"] and public["min_nights"] == 2
    short = await quote(client, listing, 25, 3)
    assert short.status_code == 422, short.text
    assert short.json()["errors"][0]["field"] == "check_out" and "at least 5 nights" in short.json()["detail"]
    assert (await quote(client, listing, 25, 5)).status_code == 200
    assert (await quote(client, listing, 18, 3)).status_code == 200  # checks in before the season
    assert (await quote(client, listing, 40, 2)).status_code == 200  # the season's end is the listing's again
    # Search applies the same minimum: a 3-night stay in the season does not find the home, a
    # 5-night one and a 3-night one before the season do.
    for start, nights, found in ((25, 3, False), (25, 5, True), (18, 3, True)):
        params = {"city": "Amsterdam", "check_in": day(start), "check_out": day(start + nights)}
        hits = (await client.get("/api/v1/listings", params=params)).json()["items"]
        assert (str(listing.id) in [h["id"] for h in hits]) is found, (start, nights)
    # A season may also ask less than the listing: one night in it is found (and quoted).
    lenient = {"seasons": [{"start": day(20), "end": day(40), "min_nights": 1}]}
    assert (await client.put(url, headers=host.headers, json=lenient)).status_code == 200
    params = {"city": "Amsterdam", "check_in": day(30), "check_out": day(31)}
    assert str(listing.id) in [h["id"] for h in (await client.get("/api/v1/listings", params=params)).json()["items"]]
    assert (await quote(client, listing, 30, 1)).status_code == 200
    cleared = await client.put(url, headers=host.headers, json={"seasons": []})
    assert cleared.json() == {"seasons": []} and await ListingSeason.count() == 0
    stranger = await signed_in_user(client, role=Role.host)
    assert (await client.put(url, headers=stranger.headers, json=seasons)).status_code == 404


async def test_bad_pricing_rules_are_a_422_naming_the_field_and_change_nothing(client: AsyncClient) -> None:
    host = await signed_in_user(client, role=Role.host)
    for fields, field in (
        ({"weekly_discount_percent": 101}, "weekly_discount_percent"),
        ({"monthly_discount_percent": -5}, "monthly_discount_percent"),
        ({"weekly_discount_percent": 20, "monthly_discount_percent": 10}, "weekly_discount_percent"),
        ({"extra_guest_fee": -100}, "extra_guest_fee"),
        ({"weekend_price": -1}, "weekend_price"),
        ({"guests_included": 5}, "guests_included"),  # the listing takes 4
    ):
        created = await client.post("/api/v1/listings", headers=host.headers, json=LISTING_FIELDS | fields)
        assert created.status_code == 422, (fields, created.text)
        assert field in [e["field"] for e in created.json()["errors"]], created.json()
        assert created.headers["content-type"].startswith("application/problem+json")
    assert await Listing.count() == 0

    listing = await live_listing(host, max_nights=30)
    for fields, field in (
        ({"weekly_discount_percent": 40}, "weekly_discount_percent"),  # over the monthly 30
        ({"monthly_discount_percent": 10}, "weekly_discount_percent"),  # under the weekly 15
        ({"extra_guest_fee": -1}, "extra_guest_fee"),
        ({"monthly_discount_percent": 120}, "monthly_discount_percent"),
    ):
        edited = await client.patch(f"/api/v1/listings/{listing.id}", headers=host.headers, json=fields)
        assert edited.status_code == 422, (fields, edited.text)
        assert field in [e["field"] for e in edited.json()["errors"]], edited.json()
    url = f"/api/v1/listings/{listing.id}/seasons"
    good = {"seasons": [{"start": day(20), "end": day(40), "min_nights": 5}]}
    assert (await client.put(url, headers=host.headers, json=good)).status_code == 200
    for seasons, field in (
        ([{"start": day(20), "end": day(30), "min_nights": 31}], "seasons[0].min_nights"),  # over max_nights 30
        ([{"start": day(30), "end": day(20), "min_nights": 3}], "seasons[0].end"),
        ([{"start": day(20), "end": day(30), "min_nights": 3}, {"start": day(29), "end": day(35), "min_nights": 3}],
         "seasons"),
        ([{"start": day(-20), "end": day(-10), "min_nights": 3}], "seasons[0].end"),
        ([{"start": day(20), "end": day(30), "min_nights": 0}], "seasons[0].min_nights"),
    ):  # fmt: skip
        put = await client.put(url, headers=host.headers, json={"seasons": seasons})
        assert put.status_code == 422, (seasons, put.text)
        assert any(e["field"].startswith(field) for e in put.json()["errors"]), put.json()
    # A maximum stay under a season's minimum would leave the season unbookable.
    shorter = await client.patch(f"/api/v1/listings/{listing.id}", headers=host.headers, json={"max_nights": 4})
    assert shorter.status_code == 422 and shorter.json()["errors"][0]["field"] == "max_nights", shorter.text

    fresh = await Listing.objects().get(Listing.id == listing.id)
    assert fresh is not None
    assert (fresh.weekly_discount_percent, fresh.monthly_discount_percent, fresh.extra_guest_fee) == (15, 30, 1_500)
    assert fresh.max_nights == 30
    assert (await client.get(url, headers=host.headers)).json() == good
