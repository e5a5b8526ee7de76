"""Host analytics: the nights inside the period only, across month boundaries and partial stays."""

from __future__ import annotations

import datetime as dt
from typing import Any

from httpx import AsyncClient

from models import Booking, CalendarBlock, LedgerEntry, Listing, Payment
from stayflow.rules.roles import Role
from tests.factories import make_listing, make_user, sign_in

D = dt.date


async def stay(
    listing: Any, guest: Any, check_in: dt.date, prices: list[int], status: str, captured: int = 0, refunded: int = 0
) -> Booking:
    nightly = [{"date": (check_in + dt.timedelta(days=i)).isoformat(), "price": p} for i, p in enumerate(prices)]
    total = sum(prices)
    booking = Booking(
        listing=listing.id,
        guest=guest.id,
        host=listing.host,
        check_in=check_in,
        check_out=check_in + dt.timedelta(days=len(prices)),
        guests=2,
        status=status,
        total=total,
        currency="EUR",
        price={
            "nights": len(prices),
            "nightly": nightly,
            "subtotal": total,
            "cleaning_fee": 0,
            "service_fee": 0,
            "taxes": 0,
            "total": total,
            "currency": "EUR",
        },
    )
    await booking.save()
    payment = Payment(booking=booking.id, amount=total, currency="EUR", status="completed")
    await payment.save()
    for kind, amount in (("capture", captured), ("refund", refunded)):
        if amount:
            await LedgerEntry(
                payment=payment.id,
                booking=booking.id,
                guest=guest.id,
                kind=kind,
                amount=amount,
                currency="EUR",
                dedupe_key=f"{payment.id}:{kind}",
            ).save()
    return booking


async def test_a_month_of_analytics(client: AsyncClient) -> None:
    host = await make_user(role=Role.host)
    guest = await make_user()
    loft = await make_listing(host, title="A loft", nightly_price=10_000)
    cabin = await make_listing(host, title="B cabin", nightly_price=20_000)
    await Listing.update({Listing.rating_average: 4.5, Listing.rating_count: 2}).where(Listing.id == loft.id)
    other_hosts = await make_listing(title="Not mine")
    # Jan 30 - Feb 2: one of its three nights is in February; 300.00 captured, nights priced 100/100/100.
    await stay(loft, guest, D(2027, 1, 30), [10_000, 10_000, 10_000], "confirmed", captured=30_000)
    # Feb 27 - Mar 3: two nights in February at 120.00 each, of four.
    await stay(loft, guest, D(2027, 2, 27), [12_000, 12_000, 12_000, 12_000], "completed", captured=48_000)
    # Cancelled with half refunded: its nights are not occupancy, its kept money is revenue.
    await stay(cabin, guest, D(2027, 2, 10), [20_000, 20_000], "cancelled", captured=40_000, refunded=20_000)
    # A request still waiting for its host counts for nothing yet.
    await stay(cabin, guest, D(2027, 2, 20), [20_000], "awaiting_host")
    await stay(other_hosts, guest, D(2027, 2, 5), [9_000], "confirmed", captured=9_000)
    await CalendarBlock(listing=cabin.id, start_date=D(2027, 1, 25), end_date=D(2027, 2, 8)).save()  # 7 Feb nights

    signed = await sign_in(client, host)
    response = await client.get(
        "/api/v1/host/analytics", headers=signed.headers, params={"from": "2027-02-01", "to": "2027-03-01"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    loft_figures, cabin_figures = body["listings"]
    assert loft_figures["title"] == "A loft" and cabin_figures["title"] == "B cabin"
    assert loft_figures["nights_open"] == 28 and loft_figures["nights_booked"] == 3
    assert loft_figures["occupancy_rate"] == round(3 / 28, 4)
    assert loft_figures["revenue"] == 10_000 + 24_000  # Feb 1 of the first stay, Feb 27-28 of the second
    assert loft_figures["average_nightly_rate"] == round((10_000 + 12_000 + 12_000) / 3)
    assert (loft_figures["bookings"], loft_figures["cancellations"], loft_figures["average_rating"]) == (2, 0, 4.5)
    assert cabin_figures["nights_open"] == 21 and cabin_figures["nights_booked"] == 0
    assert cabin_figures["revenue"] == 20_000 and cabin_figures["cancellations"] == 1
    assert cabin_figures["average_nightly_rate"] is None
    total = body["total"]
    assert total["nights_booked"] == 3 and total["nights_open"] == 49 and total["revenue"] == 54_000
    assert total["bookings"] == 2 and total["cancellations"] == 1

    march = await client.get(
        "/api/v1/host/analytics", headers=signed.headers, params={"from": "2027-03-01", "to": "2027-04-01"}
    )
    assert march.json()["listings"][0]["nights_booked"] == 2  # Mar 1-2 of the stay across the boundary
    assert march.json()["listings"][0]["revenue"] == 24_000


async def test_bad_periods_and_other_people(client: AsyncClient) -> None:
    host = await sign_in(client, await make_user(role=Role.host))
    for params in (
        {"from": "2027-03-01", "to": "2027-02-01"},
        {"from": "2027-01-01", "to": "2030-01-01"},
        {"from": "soon", "to": "2027-02-01"},
        {"to": "2027-02-01"},
    ):
        response = await client.get("/api/v1/host/analytics", headers=host.headers, params=params)
        assert response.status_code in (400, 422), params
    assert (
        await client.get("/api/v1/host/analytics", params={"from": "2027-01-01", "to": "2027-02-01"})
    ).status_code == 401
    await make_listing(title="Someone else's")
    mine = await client.get(
        "/api/v1/host/analytics", headers=host.headers, params={"from": "2027-01-01", "to": "2027-02-01"}
    )
    assert mine.json()["listings"] == [] and mine.json()["total"]["revenue"] == 0
