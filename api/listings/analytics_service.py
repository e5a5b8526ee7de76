"""Host analytics (SPEC §9): per listing and in total, over `[from, to)`, computed in SQL.

Every figure counts only the nights inside the period, so a stay across a month boundary
counts in each month for its own nights:
- nights booked: nights of confirmed or completed stays inside the period;
- occupancy: nights booked / nights open (the period's nights minus the host's blocks);
- revenue: what was captured minus what was refunded, shared over a stay's nights in
  proportion to their prices, for the nights inside the period;
- average nightly rate: the booked nights' own prices, averaged;
- bookings and cancellations: stays that overlap the period, by status;
- average rating: the listing's rating.
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import msgspec

from api.errors import Problem, field_errors
from models import Listing

MAX_PERIOD_DAYS = 731

_SQL = """
WITH period AS (SELECT {}::date AS first, {}::date AS stop),
mine AS (SELECT id, title, rating_average FROM listings WHERE host = {} AND status <> 'archived'),
stays AS (
  SELECT b.id, b.listing, b.status,
         (SELECT coalesce(sum(e.amount) FILTER (WHERE e.kind = 'capture'), 0)
               - coalesce(sum(e.amount) FILTER (WHERE e.kind = 'refund'), 0)
            FROM ledger_entries e WHERE e.booking = b.id) AS net,
         b.price
  FROM bookings b JOIN mine m ON m.id = b.listing, period p
  WHERE b.check_in < p.stop AND b.check_out > p.first
),
nights AS (
  SELECT s.id, s.listing, s.status, s.net, (n->>'date')::date AS night, (n->>'price')::int AS price,
         sum((n->>'price')::int) OVER (PARTITION BY s.id) AS stay_price
  FROM stays s, jsonb_array_elements(s.price->'nightly') AS n
),
booked AS (
  SELECT n.listing,
         sum(CASE WHEN n.stay_price > 0 THEN n.net::numeric * n.price / n.stay_price ELSE 0 END) AS revenue
  FROM nights n, period p
  WHERE n.night >= p.first AND n.night < p.stop
  GROUP BY n.listing
),
occupied AS (
  SELECT n.listing, count(*) AS nights, sum(n.price) AS night_prices
  FROM nights n, period p
  WHERE n.night >= p.first AND n.night < p.stop AND n.status IN ('confirmed', 'completed')
  GROUP BY n.listing
),
counts AS (
  SELECT listing, count(*) FILTER (WHERE status IN ('confirmed', 'completed')) AS bookings,
         count(*) FILTER (WHERE status = 'cancelled') AS cancellations
  FROM stays GROUP BY listing
),
blocked AS (
  SELECT k.listing, sum(greatest(0, least(k.end_date, p.stop) - greatest(k.start_date, p.first))) AS nights
  FROM calendar_blocks k JOIN mine m ON m.id = k.listing, period p
  WHERE k.start_date < p.stop AND k.end_date > p.first
  GROUP BY k.listing
)
SELECT m.id, m.title, m.rating_average,
       (SELECT stop - first FROM period) - coalesce(bl.nights, 0) AS open_nights,
       coalesce(o.nights, 0) AS nights_booked,
       coalesce(round(bk.revenue), 0)::bigint AS revenue,
       coalesce(o.night_prices, 0) AS night_prices,
       coalesce(o.nights, 0) AS priced_nights,
       coalesce(c.bookings, 0) AS bookings,
       coalesce(c.cancellations, 0) AS cancellations
FROM mine m
LEFT JOIN occupied o ON o.listing = m.id
LEFT JOIN booked bk ON bk.listing = m.id
LEFT JOIN counts c ON c.listing = m.id
LEFT JOIN blocked bl ON bl.listing = m.id
ORDER BY m.title, m.id
"""


class ListingFigures(msgspec.Struct):
    listing_id: UUID | None
    title: str
    nights_open: int
    nights_booked: int
    occupancy_rate: float
    revenue: int
    average_nightly_rate: int | None
    bookings: int
    cancellations: int
    average_rating: float | None


class Analytics(msgspec.Struct):
    period_from: dt.date
    period_to: dt.date
    listings: list[ListingFigures]
    total: ListingFigures


def _rate(booked: int, open_nights: int) -> float:
    return round(booked / open_nights, 4) if open_nights > 0 else 0.0


async def host_analytics(host_id: UUID, from_: dt.date, to: dt.date) -> Analytics:
    """The figures of every listing of the host that is not archived, and their total, over `[from_, to)`."""
    if to <= from_:
        raise Problem(422, "to: must be after from", errors=field_errors(("to", "must be after from")))
    if (to - from_).days > MAX_PERIOD_DAYS:
        raise Problem(
            422,
            f"to: at most {MAX_PERIOD_DAYS} days after from",
            errors=field_errors(("to", f"at most {MAX_PERIOD_DAYS} days after from")),
        )
    rows = await Listing.raw(_SQL, from_, to, host_id)
    figures = [
        ListingFigures(
            listing_id=r["id"],
            title=r["title"],
            nights_open=int(r["open_nights"]),
            nights_booked=int(r["nights_booked"]),
            occupancy_rate=_rate(int(r["nights_booked"]), int(r["open_nights"])),
            revenue=int(r["revenue"]),
            average_nightly_rate=round(r["night_prices"] / r["priced_nights"]) if r["priced_nights"] else None,
            bookings=int(r["bookings"]),
            cancellations=int(r["cancellations"]),
            average_rating=r["rating_average"],
        )
        for r in rows
    ]
    booked = sum(f.nights_booked for f in figures)
    open_nights = sum(f.nights_open for f in figures)
    prices = sum(int(r["night_prices"]) for r in rows)
    priced = sum(int(r["priced_nights"]) for r in rows)
    rated = [f.average_rating for f in figures if f.average_rating is not None]
    total = ListingFigures(
        listing_id=None,
        title="All listings",
        nights_open=open_nights,
        nights_booked=booked,
        occupancy_rate=_rate(booked, open_nights),
        revenue=sum(f.revenue for f in figures),
        average_nightly_rate=round(prices / priced) if priced else None,
        bookings=sum(f.bookings for f in figures),
        cancellations=sum(f.cancellations for f in figures),
        average_rating=round(sum(rated) / len(rated), 2) if rated else None,
    )
    return Analytics(period_from=from_, period_to=to, listings=figures, total=total)
