"""Listing search (`GET /api/v1/listings`): every filter and sort of SPEC §5, keyset-paginated.

Each query walks an index in its sort order and stops after a page of hits (indexes in
migration m0003). Availability is two anti-joins that probe, per candidate, the bookings'
exclusion-constraint index and the blocks' gist index, so cost follows the page, not the
table. A radius search sorted by price reads the grid cells the circle touches from the
(geo_cell, nightly_price, id) INCLUDE (latitude, longitude) index alone (m0020, m0035), puts the
listings inside the circle in price order and looks up their rows until a page is full; other
radius searches filter a bounding
box on a gist index, order the candidates, and check availability only until the page is full.
See docs/architecture.md, "Search performance".
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

import asyncpg
import msgspec

from api.errors import Problem, field_errors, invalid_fields
from api.pagination import DEFAULT_LIMIT, Page, aware_timestamp, decode_cursor, encode_cursor
from api.validation import today
from models.bookings import HOLDS_DATES
from stayflow.rules.amenities import unknown_amenities
from stayflow.rules.cities import city_key
from stayflow.rules.location import approximate_point
from stayflow.rules.preparation import notice_may_apply
from stayflow.rules.pricing import stay_date_problems
from stayflow.storage import MediaStorage

Sort = Literal["price_asc", "price_desc", "rating", "newest"]
EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE_LATITUDE = EARTH_RADIUS_KM * math.pi / 180  # the same sphere as the distance
MAX_PRICE = 10_000_000
MAX_RADIUS_KM = 500.0
SUSPENDED_HOST = "SELECT 1 FROM users u WHERE u.id = {t}.host AND u.suspended_at IS NOT NULL"
"""A listing whose host is suspended is neither searchable nor bookable (one primary-key probe per row)."""
MAX_GRID_CELLS = 64  # a radius search touching more cells (over ~30 km) filters a gist box instead
DISTANCE_DECIMALS = 1
"""`distance_km` in 100 m steps, from the approximate point strangers see (issue 12 item 13)."""


def great_circle_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine on the search's sphere (the SQL's `distance` in Python)."""
    (lat1, lng1), (lat2, lng2) = a, b
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    return EARTH_RADIUS_KM * 2 * math.asin(min(1.0, math.sqrt(h)))


class Rating(msgspec.Struct, gc=False):
    average: float | None
    count: int


class ListingSummary(msgspec.Struct, gc=False):
    id: UUID
    title: str
    property_type: str
    city: str
    country: str
    latitude: float
    longitude: float
    max_guests: int
    bedrooms: int
    beds: int
    bathrooms: float
    nightly_price: int
    currency: str
    instant_book: bool
    rating: Rating
    cover_photo_url: str | None
    distance_km: float | None = None


@dataclass
class _Sql:
    """Builds one parameterised statement; `arg()` returns the placeholder of a new argument."""

    args: list[Any] = field(default_factory=list)

    def arg(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"


# The sort key of each order, as SQL and as the (direction-aware) keyset comparison.
_ORDER = {
    "price_asc": ("l.nightly_price ASC, l.id ASC", "(l.nightly_price, l.id) > ({k}::int, {i}::uuid)"),
    "price_desc": ("l.nightly_price DESC, l.id DESC", "(l.nightly_price, l.id) < ({k}::int, {i}::uuid)"),
    "rating": (
        "coalesce(l.rating_average, -1) DESC, l.id ASC",
        "(coalesce(l.rating_average, -1) < {k}::float8 OR (coalesce(l.rating_average, -1) = {k}::float8 "
        "AND l.id > {i}::uuid))",
    ),
    "newest": ("l.published_at DESC, l.id DESC", "(l.published_at, l.id) < ({k}::timestamptz, {i}::uuid)"),
}


def _sort_key(sort: str, row: Any) -> Any:
    if sort in ("price_asc", "price_desc"):
        return row["nightly_price"]
    if sort == "rating":
        return row["rating_average"] if row["rating_average"] is not None else -1
    return row["published_at"].isoformat()


def _encode(sort: str, row: Any) -> str:
    return encode_cursor(sort, _sort_key(sort, row), str(row["id"]))


def _decode(cursor: str, sort: str) -> tuple[Any, UUID]:
    def read_key(cursor_sort: Any, key: Any, ident: Any) -> tuple[Any, UUID]:
        if cursor_sort != sort:
            raise ValueError("cursor of another sort")
        if sort == "newest":
            key = aware_timestamp(key)
        elif sort == "rating":
            key = float(key)
            if not (math.isfinite(key) and -1 <= key <= 5):
                raise ValueError("rating out of range")
        else:
            key = int(key)
            if not 0 <= key <= MAX_PRICE:
                raise ValueError("price out of range")
        return key, UUID(str(ident))

    return decode_cursor(cursor, read_key, detail="The cursor is not one this search gave out.")


def _boxes(lat: float, lng: float, radius_km: float) -> list[tuple[float, float, float, float]]:
    """Longitude/latitude boxes (min_lng, min_lat, max_lng, max_lat) that cover the circle; two
    when it crosses the 180° meridian, the full longitude band near a pole."""
    dlat = radius_km / KM_PER_DEGREE_LATITUDE
    south, north = lat - dlat, lat + dlat
    if south <= -90 or north >= 90:
        return [(-180.0, max(south, -90.0), 180.0, min(north, 90.0))]
    widest = max(abs(south), abs(north))
    dlng = radius_km / (KM_PER_DEGREE_LATITUDE * math.cos(math.radians(widest)))
    if dlng >= 180:
        return [(-180.0, south, 180.0, north)]
    west, east = lng - dlng, lng + dlng
    if west < -180:
        return [(west + 360, south, 180.0, north), (-180.0, south, east, north)]
    if east > 180:
        return [(west, south, 180.0, north), (-180.0, south, east - 360, north)]
    return [(west, south, east, north)]


def geo_cell(lat: float, lng: float) -> int:
    """The listing's grid cell, as the database computes it (`listing_geo_cell`, migration m0020):
    0.1° latitude bands, each cut into equal-longitude cells about 10 km wide."""
    band = min(899, max(-900, math.floor(lat * 10)))
    return (band + 900) * 4000 + _band_cell(band, lng)


def _band_cells(band: int) -> int:
    return max(1, (3240000 - (2 * band + 1) * (2 * band + 1)) // 900)


def _band_cell(band: int, lng: float) -> int:
    n = _band_cells(band)
    return min(n - 1, max(0, math.floor((lng + 180) * n / 360)))


def _cells(boxes: list[tuple[float, float, float, float]], most: int) -> list[int] | None:
    """Every grid cell a box touches (a superset of the circle's), or None past `most` cells.
    Both sides floor the same IEEE products, so a listing inside a box is always in one of them."""
    cells: list[int] = []
    for west, south, east, north in boxes:
        first, last = min(899, max(-900, math.floor(south * 10))), min(899, max(-900, math.floor(north * 10)))
        for band in range(first, last + 1):
            low, high = _band_cell(band, west), _band_cell(band, east)
            if len(cells) + high - low + 1 > most:
                return None
            cells.extend((band + 900) * 4000 + i for i in range(low, high + 1))
    return sorted(set(cells))


def _parse_near(near: str) -> tuple[float, float]:
    try:
        lat_text, lng_text = near.split(",")
        lat, lng = float(lat_text), float(lng_text)
    except ValueError as exc:
        raise Problem(
            422, "near: must be `latitude,longitude`", errors=field_errors(("near", "must be lat,lng"))
        ) from exc
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or math.isnan(lat) or math.isnan(lng):
        raise Problem(422, "near: coordinates out of range", errors=field_errors(("near", "out of range")))
    return lat, lng


@dataclass(frozen=True)
class SearchQuery:
    city: str | None = None
    country: str | None = None
    near: tuple[float, float] | None = None
    radius_km: float = 10.0
    min_price: int | None = None
    max_price: int | None = None
    guests: int | None = None
    amenities: tuple[str, ...] = ()
    check_in: dt.date | None = None
    check_out: dt.date | None = None
    instant_book: bool | None = None
    sort: Sort = "price_asc"
    limit: int = DEFAULT_LIMIT
    after: tuple[Any, UUID] | None = None
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    """The instant minimum notice is judged at (each listing's local today follows from it)."""


def build_search_sql(q: SearchQuery) -> tuple[str, list[Any]]:
    """The statement and its arguments (also used by the benchmark to EXPLAIN each kind)."""
    sql = _Sql()
    # A suspended host's listings leave search with the host, and come back when the host is restored.
    where = ["l.status = 'published'", f"NOT EXISTS ({SUSPENDED_HOST.format(t='l')})"]
    if q.city:
        where.append(f"l.city_key = {sql.arg(city_key(q.city))}")
    if q.country:
        where.append(f"l.country = {sql.arg(q.country.upper())}")
    # Conditions on the grid-cell index's own columns (price, id, coordinates): a radius search by
    # cell checks them inside each cell's index walk, before it looks up a listing's row.
    on_cell_index: list[str] = []
    if q.min_price is not None:
        on_cell_index.append(f"l.nightly_price >= {sql.arg(q.min_price)}")
    if q.max_price is not None:
        on_cell_index.append(f"l.nightly_price <= {sql.arg(q.max_price)}")
    if q.guests is not None:
        where.append(f"l.max_guests >= {sql.arg(q.guests)}")
    if q.amenities:
        where.append(f"l.amenities @> {sql.arg(list(q.amenities))}::varchar[]")
    if q.instant_book is not None:
        where.append(f"l.instant_book = {sql.arg(q.instant_book)}")
    distance = "NULL::float8"
    cells: list[int] | None = None
    if q.near is not None:
        lat, lng = q.near
        boxes = _boxes(lat, lng, q.radius_km)
        if q.sort in ("price_asc", "price_desc"):
            cells = _cells(boxes, MAX_GRID_CELLS)
        if cells is None:
            where.append(
                "("
                + " OR ".join(
                    f"point(l.longitude, l.latitude) <@ box(point({sql.arg(w)}, {sql.arg(s)}),"
                    f" point({sql.arg(e)}, {sql.arg(n)}))"
                    for w, s, e, n in boxes
                )
                + ")"
            )
        plat, plng = sql.arg(lat), sql.arg(lng)
        distance = (
            f"({EARTH_RADIUS_KM} * 2 * asin(sqrt(power(sin(radians(l.latitude - {plat}::float8) / 2), 2)"
            f" + cos(radians({plat}::float8)) * cos(radians(l.latitude))"
            f" * power(sin(radians(l.longitude - {plng}::float8) / 2), 2))))"
        )
        on_cell_index.append(f"{distance} <= {sql.arg(q.radius_km)}")
    order_sql, keyset = _ORDER[q.sort]
    if q.after is not None:
        key, ident = q.after
        on_cell_index.append(keyset.format(k=sql.arg(key), i=sql.arg(ident)))
    if cells is None:
        where += on_cell_index
    free: list[str] = []
    if q.check_in is not None and q.check_out is not None:
        nights = (q.check_out - q.check_in).days
        ci, co = sql.arg(q.check_in), sql.arg(q.check_out)
        # The minimum stay of the season the check-in night falls in, else the listing's
        # (stayflow.rules.pricing.min_nights_for): one probe of the seasons' gist index per candidate.
        least = (
            f"COALESCE((SELECT s.min_nights FROM listing_seasons s WHERE s.listing = l.id"
            f" AND daterange(s.start_date, s.end_date) @> {ci}::date LIMIT 1), l.min_nights)"
        )
        where.append(f"{least} <= {sql.arg(nights)} AND l.max_nights >= {sql.arg(nights)}")
        if notice_may_apply(q.check_in, q.now):
            # Minimum notice (stayflow.rules.preparation.earliest_check_in), on each listing's local clock.
            where.append(
                f"{ci}::date >= (({sql.arg(q.now)}::timestamptz AT TIME ZONE l.time_zone)::date + l.min_notice_days)"
            )
        holds = ", ".join(f"'{s}'" for s in HOLDS_DATES)
        # OFFSET 0 keeps each check a per-candidate probe of the constraint's / blocks' gist index
        # instead of an anti-join the planner would cost for "all rows" and satisfy with a seq scan.
        # A booking's nights must also stay clear of the listing's preparation time around the stay
        # (stayflow.rules.preparation.buffered_window): the probe's range widens, the index is the same.
        free = [
            f"NOT EXISTS (SELECT 1 FROM bookings b WHERE b.listing = {{t}}.id"
            f" AND daterange(b.check_in, b.check_out)"
            f" && daterange({ci}::date - {{t}}.preparation_days, {co}::date + {{t}}.preparation_days)"
            f" AND b.status IN ({holds}) OFFSET 0)",
            f"NOT EXISTS (SELECT 1 FROM calendar_blocks k WHERE k.listing = {{t}}.id"
            f" AND daterange(k.start_date, k.end_date) && daterange({ci}::date, {co}::date) OFFSET 0)",
        ]
    limit = sql.arg(q.limit + 1)
    columns = (
        "l.id, l.title, l.property_type, l.city, l.country, l.latitude, l.longitude, l.max_guests, l.bedrooms,"
        " l.beds, l.bathrooms, l.nightly_price, l.currency, l.instant_book, l.rating_average, l.rating_count,"
        f" l.published_at, l.preparation_days, {distance} AS distance_km"
    )
    cover = "(SELECT p.storage_key FROM listing_photos p WHERE p.listing = {t}.id ORDER BY p.position LIMIT 1)"
    if cells is not None:
        # Radius by grid cell: one index-only scan of (geo_cell, nightly_price, id) INCLUDE (latitude,
        # longitude) over the cells the circle touches yields the listings inside the circle and the
        # price range without reading their rows; those are put in price order, and only then is each
        # candidate's row looked up and checked (the other filters, the host, availability) until a
        # page is full. One scan of a cell array plans in about a millisecond whatever the number of
        # cells (a UNION of one walk per cell took 3-30 ms to plan on the loaded 2-core machine, m0035).
        inside = " AND ".join(["l.status = 'published'", f"l.geo_cell = ANY({sql.arg(cells)}::int[])", *on_cell_index])
        # ORDER BY ... OFFSET 0 keeps this a subquery of its own: flattened, PostgreSQL 18 removes the
        # self-join on the primary key and checks every candidate's availability before sorting.
        candidates = f"SELECT l.id, l.nightly_price FROM listings l WHERE {inside} ORDER BY {order_sql} OFFSET 0"
        by_candidate = order_sql.replace("l.", "x.")
        conditions = " AND ".join(where + [f.format(t="l") for f in free])
        statement = (
            f"SELECT c.*, {cover.format(t='c')} AS cover_key"
            f" FROM (SELECT {columns} FROM ({candidates}) x JOIN listings l ON l.id = x.id"
            f" WHERE {conditions} ORDER BY {by_candidate} LIMIT {limit}) c"
            f" ORDER BY {order_sql.replace('l.', 'c.')}"
        )
    elif q.near is None:
        # One level: the planner walks the sort-order index and stops after a page of hits.
        conditions = " AND ".join(where + [f.format(t="l") for f in free])
        statement = (
            f"SELECT {columns}, {cover.format(t='l')} AS cover_key FROM listings l WHERE {conditions}"
            f" ORDER BY {order_sql} LIMIT {limit}"
        )
    else:
        # Radius: the gist box scan yields candidates in no useful order, so they are sorted first
        # (OFFSET 0 keeps the subquery from being flattened) and availability is checked after.
        available = "".join(f" AND {f.format(t='c')}" for f in free)
        statement = (
            f"SELECT c.*, {cover.format(t='c')} AS cover_key"
            f" FROM (SELECT {columns} FROM listings l WHERE {' AND '.join(where)}"
            f" ORDER BY {order_sql} OFFSET 0) c"
            f" WHERE TRUE{available}"
            f" ORDER BY {order_sql.replace('l.', 'c.')} LIMIT {limit}"
        )
    return statement, sql.args


def search_query_from_params(
    *,
    city: str | None,
    country: str | None,
    near: str | None,
    radius_km: float,
    min_price: int | None,
    max_price: int | None,
    guests: int | None,
    amenities: str | None,
    check_in: dt.date | None,
    check_out: dt.date | None,
    instant_book: bool | None,
    sort: Sort,
    limit: int,
    cursor: str | None,
) -> SearchQuery:
    problems: list[tuple[str, str]] = []
    codes = tuple(sorted({a.strip() for a in (amenities or "").split(",") if a.strip()}))
    if unknown := unknown_amenities(list(codes)):
        problems.append(("amenities", f"unknown: {', '.join(unknown)}"))
    if (check_in is None) != (check_out is None):
        problems.append(("check_out" if check_out is None else "check_in", "check_in and check_out go together"))
    if check_in and check_out:
        problems += stay_date_problems(check_in=check_in, check_out=check_out, today=today())
    if min_price is not None and max_price is not None and min_price > max_price:
        problems.append(("min_price", "must not be more than max_price"))
    if problems:
        raise invalid_fields(problems)
    return SearchQuery(
        city=city.strip() if city and city.strip() else None,
        country=country,
        near=_parse_near(near) if near else None,
        radius_km=radius_km,
        min_price=min_price,
        max_price=max_price,
        guests=guests,
        amenities=codes,
        check_in=check_in,
        check_out=check_out,
        instant_book=instant_book,
        sort=sort,
        limit=limit,
        after=_decode(cursor, sort) if cursor else None,
    )


# The shown point is a pure function of the listing's id and coordinates: remembered for the listings
# searches show most (a sha256 and a dozen float operations per row were a tenth of a search's CPU).
_shown_point = functools.lru_cache(maxsize=1 << 16)(approximate_point)


async def run_search(q: SearchQuery, storage: MediaStorage) -> Page[ListingSummary]:
    statement, args = build_search_sql(q)
    rows = await _fetch(statement, args)
    shown = rows[: q.limit]
    items = []
    for r in shown:  # search shows every home at its approximate point (stayflow/rules/location.py)
        latitude, longitude = _shown_point(r["id"], r["latitude"], r["longitude"])
        cover = r["cover_key"]
        # Measured to the shown point too: distances from anywhere trilaterate only that point.
        distance = round(great_circle_km(q.near, (latitude, longitude)), DISTANCE_DECIMALS) if q.near else None
        items.append(
            ListingSummary(
                r["id"], r["title"], r["property_type"], r["city"], r["country"], latitude, longitude,
                r["max_guests"], r["bedrooms"], r["beds"], r["bathrooms"], r["nightly_price"],
                r["currency"], r["instant_book"], Rating(r["rating_average"], r["rating_count"]),
                storage.url(cover) if cover else None, distance,
            )
        )  # fmt: skip
    more = len(rows) > q.limit
    return Page(items=items, next_cursor=_encode(q.sort, shown[-1]) if more and shown else None)


async def _fetch(statement: str, args: list[Any]) -> list[asyncpg.Record]:
    """Straight to asyncpg through piccolo's pool: the statement is already `$n`-parameterised."""
    from piccolo_conf import DB

    pool = DB.pool
    if pool is None:
        conn = await DB.get_new_connection()
        try:
            return await conn.fetch(statement, *args)
        finally:
            await conn.close()
    async with pool.acquire() as conn:
        return await conn.fetch(statement, *args)
