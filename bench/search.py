"""Listing search through the HTTP API against its floor: seed a throwaway PostgreSQL (rows made
inside PostgreSQL, indexes built after the load), start Stayflow's API and a bare handler running
the very same statement side by side, drive the same requests at both, and print Stayflow's share
of the floor, latencies at a fixed rate, CPU per request and the plans PostgreSQL chose.

    .venv/bin/python bench/search.py                     # 100k then 1M listings, plus the 1M/100k ratio
    .venv/bin/python bench/search.py --listings 100000   # one size

Everything it starts (embedded PostgreSQL, uvicorn) lives in a temp dir and is stopped and
removed on exit. Results go to bench/results/search-<size>.{json,md}. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import datetime as dt
import json
import math
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import msgspec  # noqa: E402
import psutil  # noqa: E402
from floor_app import to_query  # noqa: E402  (bench/, beside this script)

# Nothing here imports piccolo_conf: STAYFLOW_DATABASE_URL must be set before that happens.
from stayflow.devstack import ChildProcess, EmbeddedPostgres, free_port, spawn  # noqa: E402
from stayflow.rules.cities import city_key  # noqa: E402

SEED = 20261126
N_CITIES = 1000
LARGEST_CITY_SHARE = 0.016
N_HOSTS = 2000
N_GUESTS = 2000
HORIZON_DAYS = 90
TARGET_OCCUPANCY = 0.30
KINDS = ("a", "b", "c", "d", "e")
KIND_LABELS = {
    "a": "city + dates + guests=2, by price",
    "b": "near (10 km) + price range + dates, by price",
    "c": "amenities wifi,pool + dates, by price",
    "d": "price range browse, sort=price_asc, no dates",
    "e": "page 2 (next_cursor) of a",
}
SIDES = ("floor", "stayflow")  # the order of the first round; rounds alternate
SEQ_SCAN_TABLES = ("listings", "bookings", "calendar_blocks")

# Share of listings that have each amenity (rough marketplace frequencies).
AMENITY_FREQUENCY = {
    "wifi": 0.90,
    "kitchen": 0.80,
    "washer": 0.55,
    "dryer": 0.35,
    "air_conditioning": 0.50,
    "heating": 0.70,
    "workspace": 0.40,
    "tv": 0.70,
    "pool": 0.10,
    "hot_tub": 0.08,
    "parking": 0.45,
    "ev_charger": 0.04,
    "gym": 0.07,
    "bbq_grill": 0.15,
    "fireplace": 0.12,
    "pets_allowed": 0.20,
    "smoking_allowed": 0.05,
    "beachfront": 0.05,
    "waterfront": 0.08,
    "ski_in_out": 0.02,
    "elevator": 0.25,
    "wheelchair_accessible": 0.08,
    "crib": 0.15,
    "smoke_alarm": 0.85,
    "carbon_monoxide_alarm": 0.60,
    "first_aid_kit": 0.50,
    "self_check_in": 0.45,
}
PROPERTY_TYPES = (
    (["apartment"] * 50)
    + (["house"] * 25)
    + (["room"] * 10)
    + (["guesthouse"] * 5)
    + (["cabin"] * 4)
    + (["villa"] * 4)
    + (["other"] * 2)
)
ADJECTIVES = ("Cosy", "Bright", "Quiet", "Central", "Modern", "Charming")
GUEST_WEIGHTS = [6, 30, 12, 20, 6, 12, 3, 6, 1, 2, 1, 1]  # max_guests 1..12, skewed small
COUNTRIES = [
    "US",
    "FR",
    "IT",
    "ES",
    "GB",
    "DE",
    "PT",
    "GR",
    "MX",
    "BR",
    "AR",
    "CL",
    "CO",
    "PE",
    "CA",
    "AU",
    "NZ",
    "JP",
    "KR",
    "TH",
    "VN",
    "ID",
    "PH",
    "MY",
    "IN",
    "LK",
    "AE",
    "TR",
    "EG",
    "MA",
    "ZA",
    "KE",
    "TZ",
    "NO",
    "SE",
    "FI",
    "IS",
    "DK",
    "NL",
    "BE",
    "CH",
    "AT",
    "PL",
    "CZ",
    "HU",
    "HR",
    "RO",
    "BG",
    "IE",
    "CR",
    "PA",
    "CU",
    "DO",
    "JM",
    "FJ",
    "RU",
    "CN",
    "TW",
    "SG",
]
# A few centers where geo search is easy to get wrong: near the 180° meridian and far north/south.
SPECIAL_CENTERS = [
    (-17.80, 178.45, "FJ"),  # Suva-like, box spans the meridian only at the edge
    (-16.50, 179.95, "FJ"),
    (65.00, -179.90, "RU"),  # Chukotka-like, high latitude and the meridian at once
    (-41.30, 179.70, "NZ"),
    (78.22, 15.65, "NO"),  # Longyearbyen-like
    (69.65, 18.96, "NO"),
    (71.29, -156.79, "US"),  # Utqiagvik-like
    (-54.80, -68.30, "AR"),  # Ushuaia-like
    (64.84, -147.72, "US"),
    (-77.85, 166.67, "NZ"),  # McMurdo-like: a box near the pole
]
SYLLABLES = [
    "ba",
    "be",
    "bo",
    "da",
    "de",
    "di",
    "ka",
    "ke",
    "ko",
    "la",
    "le",
    "li",
    "lo",
    "ma",
    "me",
    "mi",
    "mo",
    "na",
    "ne",
    "no",
    "ra",
    "re",
    "ri",
    "ro",
    "sa",
    "se",
    "si",
    "so",
    "ta",
    "te",
    "ti",
    "to",
    "va",
    "ve",
    "vi",
    "za",
    "zu",
    "an",
    "el",
    "en",
    "ar",
    "or",
    "ur",
    "is",
    "os",
    "us",
    "port",
    "san",
    "val",
    "mont",
]


def log(message: str) -> None:
    print(message, flush=True)


# --- Synthetic world ------------------------------------------------------------------------


@dataclass
class City:
    name: str
    key: str
    country: str
    lat: float
    lng: float
    listings: int = 0
    price_factor: float = 1.0


def zipf_exponent(n: int, largest_share: float) -> float:
    """The exponent s for which rank 1 of n holds `largest_share` of sum(k^-s)."""
    lo, hi = 0.0, 3.0
    for _ in range(60):
        s = (lo + hi) / 2
        share = 1.0 / sum(k**-s for k in range(1, n + 1))
        lo, hi = (s, hi) if share < largest_share else (lo, s)
    return (lo + hi) / 2


def make_cities(rng: random.Random, n_listings: int) -> list[City]:
    names: set[str] = set()
    cities: list[City] = []
    while len(cities) < N_CITIES:
        name = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3, 3, 4)))).capitalize()
        if rng.random() < 0.12:
            name = f"{rng.choice(('San', 'Port', 'New', 'Saint', 'Lake', 'Old'))} {name}"
        if name in names:
            continue
        names.add(name)
        i = len(cities)
        if i < len(SPECIAL_CENTERS) * 40 and i % 40 == 7:
            lat, lng, country = SPECIAL_CENTERS[i // 40]
        else:
            # Most people live between 55°S and 70°N; sample uniformly on the sphere inside that band.
            lat = math.degrees(math.asin(rng.uniform(math.sin(math.radians(-55)), math.sin(math.radians(70)))))
            lng = rng.uniform(-180, 180)
            country = rng.choice(COUNTRIES)
        cities.append(City(name, city_key(name), country, lat, lng, price_factor=rng.lognormvariate(0, 0.3)))
    # Zipf-like sizes over a shuffled order, so the biggest cities are anywhere on the globe.
    s = zipf_exponent(N_CITIES, LARGEST_CITY_SHARE)
    weights = [k**-s for k in range(1, N_CITIES + 1)]
    total = sum(weights)
    exact = [n_listings * w / total for w in weights]
    counts = [int(x) for x in exact]
    for i in sorted(range(N_CITIES), key=lambda i: exact[i] - counts[i], reverse=True)[: n_listings - sum(counts)]:
        counts[i] += 1
    order = list(range(N_CITIES))
    rng.shuffle(order)
    for rank, city_index in enumerate(order):
        cities[city_index].listings = counts[rank]
    return cities


def scatter(rng: random.Random, lat: float, lng: float, max_km: float) -> tuple[float, float]:
    """A point uniformly within `max_km` of (lat, lng), wrapped at the 180° meridian."""
    r = max_km * math.sqrt(rng.random())
    bearing = rng.uniform(0, 2 * math.pi)
    new_lat = lat + r * math.cos(bearing) / 111.32
    new_lat = max(-89.999, min(89.999, new_lat))
    new_lng = lng + r * math.sin(bearing) / (111.32 * max(math.cos(math.radians(new_lat)), 0.01))
    new_lng = (new_lng + 180) % 360 - 180
    return round(new_lat, 6), round(new_lng, 6)


@dataclass
class World:
    cities: list[City]
    city_weights: list[int]  # cumulative listings, for picking a city the way searches do
    listing_count: int = 0

    def pick_city(self, rng: random.Random) -> City:
        """A city with probability proportional to its listings (popular places get searched more)."""
        return self.cities[bisect.bisect_right(self.city_weights, rng.randrange(self.city_weights[-1]))]


# --- Seeding inside PostgreSQL --------------------------------------------------------------
# Every row is made by `INSERT ... SELECT` over generate_series, its pseudo-random numbers a hash
# of the row's number and a salt (`_u`): the same size always gives the same rows, and 1M listings
# load in minutes instead of the 12 minutes Python took to make them. The seeded tables' secondary
# indexes and their unique/exclusion constraints are dropped for the load and built after it, two
# at a time (one per core); foreign keys and triggers are off during the load
# (session_replication_role = replica), which is safe because every reference is made consistent
# here, and the one trigger (geo_cell, m0020) is computed by the same function in the INSERT.

SEEDED_TABLES = ("users", "listings", "listing_photos", "bookings", "calendar_blocks")
SLOT_DAYS = 13  # each listing holds one stay (booking or block) in each 13-day slot of the next 90 days


def _u(row: str, salt: int) -> str:
    """SQL: a uniform number in [0, 1) from the row's number and a salt."""
    return f"((hashint8extended({row}, {SEED * 1000 + salt}) & 4503599627370495)::float8 / 4503599627370496.0)"


def _choice(u: str, values: list[str] | tuple[str, ...], weights: list[float] | None = None) -> str:
    """SQL: one of `values` (SQL expressions of one type) picked by the uniform `u`, by weight."""
    merged: dict[str, float] = {}
    for value, weight in zip(values, weights or [1.0] * len(values), strict=True):
        merged[value] = merged.get(value, 0.0) + weight
    total, running, bounds = sum(merged.values()), 0.0, []
    for weight in list(merged.values())[:-1]:
        running += weight
        bounds.append(repr(running / total))
    if not bounds:
        return next(iter(merged))
    return f"(ARRAY[{', '.join(merged)}])[1 + width_bucket({u}, ARRAY[{', '.join(bounds)}]::float8[])]"


def _normal(row: str, salt: int) -> str:
    """SQL: a standard normal number (Box-Muller over two uniforms)."""
    return f"(sqrt(-2 * ln(1 - {_u(row, salt)})) * cos(2 * pi() * {_u(row, salt + 1)}))"


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _id(kind: str, key: str) -> str:
    """SQL: the uuid of the `kind` row numbered `key` (the same on every run)."""
    return f"md5('{SEED}:{kind}:' || {key})::uuid"


def _max_guests(i: str) -> str:
    return _choice(_u(i, 3), [str(g) for g in range(1, 13)], [float(w) for w in GUEST_WEIGHTS])


def _listings_sql() -> str:
    """INSERT listings numbered $2 .. from bench_city's ranges; $1 is now."""
    amenities = ", ".join(
        f"CASE WHEN {_u('s.i', 100 + n)} < {p!r} THEN {_text(code)} END"
        for n, (code, p) in enumerate(sorted(AMENITY_FREQUENCY.items()))
    )

    def r(i: str) -> str:  # the point's distance (km) and bearing from the city centre, as `scatter`
        return f"(15 * sqrt({_u(i, 1)}))"

    def bearing(i: str) -> str:
        return f"(2 * pi() * {_u(i, 2)})"

    return f"""
    INSERT INTO listings (id, host, title, description, property_type, address_line, city, city_key, country,
                          latitude, longitude, geo_cell, max_guests, bedrooms, beds, bathrooms, amenities,
                          nightly_price, cleaning_fee, currency, min_nights, max_nights, instant_book,
                          cancellation_policy, status, review_notes, rating_average, rating_count, created_at,
                          updated_at, published_at, preparation_days, min_notice_days)
    SELECT {_id("listing", "s.i")}, {_id("host", f"(1 + floor({_u('s.i', 30)} * {N_HOSTS})::int)")},
           {_choice(_u("s.i", 31), [_text(a) for a in ADJECTIVES])} || ' ' || s.kind || ' in ' || s.name,
           'Synthetic listing for the search benchmark.', s.kind,
           (1 + floor({_u("s.i", 32)} * 400)::int) || ' '
             || initcap({_choice(_u("s.i", 33), [_text(x) for x in SYLLABLES])}) || ' Street',
           s.name, s.key, s.country, s.lat, s.lng, listing_geo_cell(s.lat, s.lng), s.max_guests, s.bedrooms,
           greatest(1, s.bedrooms + {_choice(_u("s.i", 34), ["0", "0", "1", "1", "2"])}),
           greatest(0.5, least(5.0, round((0.5 + {_u("s.i", 35)} * (0.5 + s.bedrooms * 0.6)) * 2) / 2)),
           array_remove(ARRAY[{amenities}]::varchar[], NULL), s.price,
           least(30000, greatest(0, round((s.price * {_u("s.i", 36)} * 0.6)::numeric, -2)))::int, 'USD',
           {_choice(_u("s.i", 37), ["1", "2", "3"], [55, 30, 15])},
           {_choice(_u("s.i", 38), ["30", "60", "90", "180", "365", "365"])}, {_u("s.i", 39)} < 0.4,
           {_choice(_u("s.i", 40), ["'flexible'", "'moderate'", "'moderate'", "'strict'"])}, 'published', NULL,
           CASE WHEN s.rated
                THEN round(least(5.0, greatest(3.5, 5.0 - abs({_normal("s.i", 41)} * 0.45)))::numeric, 2) END,
           CASE WHEN s.rated THEN 1 + floor({_u("s.i", 43)} * 400)::int ELSE 0 END,
           s.published - make_interval(secs => 3600 + {_u("s.i", 44)} * (14 * 86400 - 3600)),
           s.published + ($1::timestamptz - s.published) * {_u("s.i", 45)}, s.published,
           {_choice(_u("s.i", 46), ["0", "1", "2"], [70, 25, 5])},
           {_choice(_u("s.i", 47), ["0", "1", "2", "3", "7"], [40, 30, 15, 10, 5])}
      FROM (SELECT b.*,
                   round(((b.city_lng + {r("b.i")} * sin({bearing("b.i")})
                           / (111.32 * greatest(cos(radians(b.lat)), 0.01)) + 180)::numeric % 360 + 360) % 360
                          - 180, 6)::float8 AS lng,
                   CASE WHEN b.max_guests > 1 THEN greatest(0, least(8, ceil(b.max_guests / 2.0)::int
                        + {_choice(_u("b.i", 7), ["-1", "0", "0", "0", "1"])})) ELSE 0 END AS bedrooms,
                   least(200000, greatest(2000, round((12000 * b.price_factor * (0.75 + b.max_guests / 8.0)
                         * exp(-0.25 + 0.55 * {_normal("b.i", 8)}))::numeric, -2)))::int AS price
              FROM (SELECT c.*, i,
                           greatest(-89.999, least(89.999,
                             round((c.city_lat + {r("i")} * cos({bearing("i")}) / 111.32)::numeric, 6)::float8)) AS lat,
                           {_max_guests("i")} AS max_guests,
                           {_choice(_u("i", 4), [_text(k) for k in PROPERTY_TYPES])} AS kind,
                           {_u("i", 5)} < 0.7 AS rated,
                           $1::timestamptz - make_interval(secs => {_u("i", 6)} * 365 * 86400) AS published
                      FROM bench_city c, generate_series(c.first, c.first + c.n - 1) AS i
                     WHERE c.first >= $2 AND c.first < $3 OFFSET 0) b OFFSET 0) s"""


def _stays_sql(table: str) -> str:
    """INSERT the bookings (or blocks) of listings $2 .. $3-1: in each 13-day slot of the next 90 days
    one stay, a booking of 2-7 nights (70%) or a block of 1-5, at a random start inside the slot."""
    k = "(i * 8 + slot)"
    booking = f"({_u(k, 50)} < 0.7)"
    nights = f"(CASE WHEN {booking} THEN 2 + floor({_u(k, 51)} * 6)::int ELSE 1 + floor({_u(k, 51)} * 5)::int END)"
    room = f"(least({HORIZON_DAYS}, (slot + 1) * {SLOT_DAYS}) - slot * {SLOT_DAYS})"
    day = f"slot * {SLOT_DAYS} + floor({_u(k, 52)} * ({room} - nights + 1))::int"
    stays = f"""(SELECT i, slot, {k} AS k, nights, {day} AS day
                  FROM (SELECT i, slot, {nights} AS nights
                          FROM generate_series($2::bigint, $3::bigint - 1) AS i,
                               generate_series(0, {HORIZON_DAYS // SLOT_DAYS}) AS slot
                         WHERE {booking if table == "bookings" else "NOT " + booking} OFFSET 0) n
                 WHERE nights <= {room})"""
    if table == "calendar_blocks":
        return f"""INSERT INTO calendar_blocks (id, listing, start_date, end_date)
            SELECT {_id("block", "k")}, {_id("listing", "i")}, $1::date + day, $1::date + day + nights FROM {stays} s"""
    created = f"(now() - make_interval(secs => (1 + {_u('k', 53)} * 119) * 86400))"
    status = _choice(_u("k", 54), ["'confirmed'", "'pending_payment'", "'awaiting_host'", "'cancelled'"], [85, 5, 5, 5])
    return f"""INSERT INTO bookings (id, listing, guest, check_in, check_out, guests, status, created_at, updated_at)
        SELECT {_id("booking", "k")}, {_id("listing", "i")},
               {_id("guest", f"(1 + floor({_u('k', 55)} * {N_GUESTS})::int)")},
               $1::date + day, $1::date + day + nights, 1 + floor({_u("k", 56)} * {_max_guests("i")})::int,
               {status}, created, created + (now() - created) * {_u("k", 57)}
          FROM (SELECT s.*, {created} AS created FROM {stays} s OFFSET 0) s"""


def _photos_sql() -> str:
    n = _choice(_u("i", 60), ["1", "2", "3", "3", "4", "5"])
    return f"""INSERT INTO listing_photos (id, listing, storage_key, content_type, width, height, size_bytes, caption,
                                          position, created_at)
        SELECT {_id("photo", "i || ':' || position")}, {_id("listing", "i")},
               'bench/' || {_id("listing", "i")} || '/' || position || '.jpg', 'image/jpeg', 1600, 1067, 250000, '',
               position, ($1::date - 400)::timestamptz
          FROM generate_series($2::bigint, $3::bigint - 1) AS i, generate_series(0, {n} - 1) AS position"""


async def _drop_for_load(conn: asyncpg.Connection, exclusion_constraints: bool) -> tuple[list[str], list[str]]:
    """Drop the seeded tables' indexes and constraints (primary keys too, and every foreign key to
    or from them: maintaining a random-uuid primary key during the load costs more than the insert
    itself). Returns the statements that build the indexes and keys again, then the foreign keys.
    An exclusion constraint comes back as its index alone unless `exclusion_constraints` (the very
    index the search probes; building the constraint also checks every booking against the others,
    5x the time, and the benchmark never books)."""
    tables = list(SEEDED_TABLES)
    constraints = await conn.fetch(
        """SELECT c.contype::text AS contype, t.relname AS tab,
                  'ALTER TABLE ' || quote_ident(t.relname) || ' DROP CONSTRAINT ' || quote_ident(c.conname) AS drop,
                  CASE WHEN c.contype = 'x' AND NOT $2 THEN pg_get_indexdef(c.conindid)
                       ELSE 'ALTER TABLE ' || quote_ident(t.relname) || ' ADD CONSTRAINT ' || quote_ident(c.conname)
                            || ' ' || pg_get_constraintdef(c.oid) END AS build
             FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
            WHERE (t.relname = ANY($1::text[]) AND c.contype IN ('p', 'u', 'x', 'f'))
               OR (c.contype = 'f' AND c.confrelid IN (SELECT oid FROM pg_class WHERE relname = ANY($1::text[])
                                                       AND relnamespace = 'public'::regnamespace))""",
        tables,
        exclusion_constraints,
    )
    indexes = await conn.fetch(
        """SELECT t.relname AS tab, pg_get_indexdef(i.indexrelid) AS build,
                  'DROP INDEX ' || quote_ident(x.relname) AS drop
             FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class x ON x.oid = i.indexrelid
            WHERE t.relname = ANY($1::text[])
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype <> 'f')""",
        tables,
    )
    foreign = [r for r in constraints if r["contype"] == "f"]
    keys = [r for r in constraints if r["contype"] != "f"]
    for r in [*foreign, *keys, *indexes]:
        await conn.execute(r["drop"])
    # The big tables first, so the two builders finish together.
    order = {"bookings": 0, "listing_photos": 1, "listings": 2, "calendar_blocks": 3}
    builds = sorted([*keys, *indexes], key=lambda r: order.get(r["tab"], 9))
    return [r["build"] for r in builds], [r["build"] for r in foreign]


async def _run_on(dsn: str, jobs: list[tuple[str, list[Any]]], workers: int = 2) -> dict[str, float]:
    """Run statements on `workers` connections at once (one per core), in order of the list;
    returns the seconds spent per kind of statement (its first words)."""
    pending = list(jobs)
    spent: dict[str, float] = {}

    async def worker() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(
                "SET session_replication_role = replica; SET maintenance_work_mem = '1GB';"
                " SET max_parallel_maintenance_workers = 0; SET synchronous_commit = off"
            )
            while pending:
                statement, args = pending.pop(0)
                start = time.perf_counter()
                await conn.execute(statement, *args)
                words = statement.split()
                what = " ".join(words[:3] if words[0] == "INSERT" else words[:2] + words[3:5])
                spent[what] = spent.get(what, 0.0) + time.perf_counter() - start
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(workers)))
    return spent


async def seed(dsn: str, n_listings: int, exclusion_constraints: bool = False) -> tuple[World, dict[str, Any]]:
    rng = random.Random(SEED + n_listings)
    now = dt.datetime.now(dt.UTC)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    cities = make_cities(rng, n_listings)
    city_rows: list[tuple[Any, ...]] = []
    first = 0
    for index, c in enumerate(cities):
        city_rows.append((index, first, c.listings, c.name, c.key, c.country, c.lat, c.lng, c.price_factor))
        first += c.listings
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "CREATE TABLE bench_city (idx int PRIMARY KEY, first bigint, n int, name text, key text, country text,"
            " city_lat float8, city_lng float8, price_factor float8)"
        )
        await conn.copy_records_to_table("bench_city", records=city_rows)
        builds, foreign_keys = await _drop_for_load(conn, exclusion_constraints)
        await conn.execute("SET session_replication_role = replica")
        for role, n in (("host", N_HOSTS), ("guest", N_GUESTS)):
            await conn.execute(
                f"""INSERT INTO users (id, email, password_hash, full_name, role, created_at, updated_at)
                    SELECT {_id(role, "k")}, '{role}' || k || '@bench.stayflow.test', 'bench-not-a-real-hash',
                           'Bench {role.capitalize()} ' || k, '{role}', $1::timestamptz - interval '400 days',
                           $1::timestamptz - interval '400 days'
                      FROM generate_series(1, {n}) AS k""",
                now,
            )
    finally:
        await conn.close()
    timings["prepare_s"] = time.perf_counter() - t0
    # Chunks of ~100k listings (whole cities), two loading at once: one per core.
    start, low = time.perf_counter(), 0
    chunks: list[tuple[int, int]] = []
    for row in city_rows:
        if row[1] - low >= 100_000:
            chunks.append((low, row[1]))
            low = row[1]
    chunks.append((low, n_listings))
    today = now.date()
    jobs = [(_listings_sql(), [now, lo, hi]) for lo, hi in chunks]
    jobs += [(_stays_sql(t), [today, lo, hi]) for lo, hi in chunks for t in ("bookings", "calendar_blocks")]
    spent = await _run_on(dsn, jobs + [(_photos_sql(), [today, lo, hi]) for lo, hi in chunks])
    timings["insert_rows_s"] = time.perf_counter() - start
    start = time.perf_counter()
    spent |= await _run_on(dsn, [(b, []) for b in builds])
    timings["build_indexes_s"] = time.perf_counter() - start
    start = time.perf_counter()
    spent |= await _run_on(dsn, [(f, []) for f in foreign_keys])
    timings["foreign_keys_s"] = time.perf_counter() - start
    start = time.perf_counter()
    # Listings are vacuumed for the visibility map (the radius search reads the cell index alone).
    await _run_on(
        dsn, [("VACUUM (ANALYZE) listings", []), ("ANALYZE users, listing_photos, bookings, calendar_blocks", [])]
    )
    timings["vacuum_analyze_s"] = time.perf_counter() - start
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP TABLE bench_city")
        counts = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in SEEDED_TABLES}
        held = await conn.fetchval(
            "SELECT (SELECT coalesce(sum(check_out - check_in), 0) FROM bookings WHERE status <> 'cancelled')"
            " + (SELECT coalesce(sum(end_date - start_date), 0) FROM calendar_blocks)"
        )
    finally:
        await conn.close()
    timings["total_s"] = time.perf_counter() - t0
    info = {
        "timings": {k: round(v, 2) for k, v in timings.items()},
        "statement_seconds": {k: round(v, 2) for k, v in sorted(spent.items(), key=lambda kv: -kv[1])},
        "rows": counts,
        "occupancy_next_90_days": round(held / (n_listings * HORIZON_DAYS), 3),
        "largest_city_listings": max(c.listings for c in cities),
        "smallest_city_listings": min(c.listings for c in cities),
        "generated": "in PostgreSQL (INSERT ... SELECT generate_series), indexes built after the load",
    }
    cumulative: list[int] = []
    running = 0
    for c in cities:
        running += c.listings
        cumulative.append(running)
    return World(cities, cumulative, n_listings), info


# --- Request mix ----------------------------------------------------------------------------


def stay(rng: random.Random) -> dict[str, str]:
    check_in = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=rng.randint(10, 80))
    return {
        "check_in": check_in.isoformat(),
        "check_out": (check_in + dt.timedelta(days=rng.randint(2, 5))).isoformat(),
    }


def params_a(rng: random.Random, world: World) -> dict[str, str]:
    return {"city": world.pick_city(rng).name, **stay(rng), "guests": "2"}


def params_b(rng: random.Random, world: World) -> dict[str, str]:
    city = world.pick_city(rng)
    lat, lng = scatter(rng, city.lat, city.lng, 3.0)
    return {
        "near": f"{lat},{lng}",
        "radius_km": "10",
        "min_price": "5000",
        "max_price": "30000",
        **stay(rng),
    }


def params_c(rng: random.Random, world: World) -> dict[str, str]:
    return {"amenities": "wifi,pool", **stay(rng)}


def params_d(rng: random.Random, world: World) -> dict[str, str]:
    low = rng.randrange(5000, 20001, 500)
    return {"sort": "price_asc", "min_price": str(low), "max_price": str(low + rng.randrange(5000, 20001, 500))}


PARAMS: dict[str, Callable[[random.Random, World], dict[str, str]]] = {
    "a": params_a,
    "b": params_b,
    "c": params_c,
    "d": params_d,
}


@dataclass
class KindResult:
    kind: str
    side: str
    requests: int
    seconds: float
    latencies_ms: list[float]
    results: list[int]
    samples: list[tuple[float, dict[str, str]]]
    cpu_s: dict[str, float]

    def pct(self, p: float) -> float:
        lat = sorted(self.latencies_ms)
        return round(lat[min(len(lat) - 1, max(0, math.ceil(p / 100 * len(lat)) - 1))], 2)

    def summary(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "side": self.side,
            "requests": self.requests,
            "req_per_s": round(self.requests / self.seconds, 1),
            "p50_ms": self.pct(50),
            "p95_ms": self.pct(95),
            "p99_ms": self.pct(99),
            "max_ms": round(max(self.latencies_ms), 2),
            "mean_results": round(statistics.fmean(self.results), 2) if self.results else 0,
            "empty_pages": sum(1 for r in self.results if r == 0),
            "cpu_ms_per_request": {k: round(1000 * v / self.requests, 2) for k, v in self.cpu_s.items()},
        }


class CpuMeter:
    """CPU seconds spent by each server process, the PostgreSQL cluster and this load generator."""

    def __init__(self, servers: dict[str, int], postmaster_pid: int) -> None:
        self.procs = {name: psutil.Process(pid) for name, pid in servers.items()}
        self.procs["postgres"] = psutil.Process(postmaster_pid)
        self.me = psutil.Process()

    def _sample(self) -> dict[str, float]:
        def total(p: psutil.Process) -> float:
            t = p.cpu_times()
            cpu = t.user + t.system
            for c in p.children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    ct = c.cpu_times()
                    cpu += ct.user + ct.system
            return cpu

        sample = {name: total(p) for name, p in self.procs.items()}
        t = self.me.cpu_times()
        return sample | {"loadgen": t.user + t.system}

    def start(self) -> None:
        self.base = self._sample()

    def stop(self) -> dict[str, float]:
        end = self._sample()
        return {k: end[k] - self.base[k] for k in end}


class Connection:
    """One keep-alive HTTP/1.1 connection on asyncio streams: a tenth of httpx's CPU per request,
    so the load generator takes less of the two cores the servers share with it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def search_path(params: dict[str, str]) -> str:
    return "/api/v1/listings?" + urlencode(params)


async def drive(
    port: int,
    kind: str,
    side: str,
    requests: list[dict[str, str]],
    concurrency: int,
    cpu: CpuMeter | None,
    rate: float | None = None,
    cursors: list[dict[str, str]] | None = None,
) -> KindResult:
    """Send `requests`: closed loop with `concurrency` connections, or open loop at `rate` per second
    (each request due at its own time, latency counted from when it was due, never waiting for
    earlier answers: a slow server shows as latency, not as fewer requests)."""
    latencies: list[float] = []
    results: list[int] = []
    samples: list[tuple[float, dict[str, str]]] = []
    idle = [Connection(port) for _ in range(concurrency)]
    spare: asyncio.Queue[Connection] = asyncio.Queue()
    for c in idle:
        spare.put_nowait(c)

    async def one(params: dict[str, str], due: float) -> None:
        conn = await spare.get()
        try:
            status, body = await conn.get(search_path(params))
        finally:
            spare.put_nowait(conn)
        elapsed = (time.perf_counter() - due) * 1000
        if status != 200:
            raise RuntimeError(f"{side} {kind}: {status} for {params}: {body[:500]!r}")
        page = msgspec.json.decode(body)
        latencies.append(elapsed)
        results.append(len(page["items"]))
        samples.append((elapsed, params))
        if cursors is not None and page["next_cursor"]:
            cursors.append({**params, "cursor": page["next_cursor"]})

    if cpu:
        cpu.start()
    started = time.perf_counter()
    if rate is None:
        pending = iter(requests)

        async def loop() -> None:
            for params in pending:
                await one(params, time.perf_counter())

        await asyncio.gather(*(loop() for _ in range(concurrency)))
    else:
        tasks = []
        for i, params in enumerate(requests):
            due = started + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(one(params, due)))
        await asyncio.gather(*tasks)
    seconds = time.perf_counter() - started
    cpu_s = cpu.stop() if cpu else {}
    for c in idle:
        c.close()
    return KindResult(kind, side, len(requests), seconds, latencies, results, samples, cpu_s)


@dataclass
class Comparison:
    """Per kind: the best closed-loop round of each side, and each side at the fixed rate."""

    throughput: dict[str, dict[str, KindResult]] = field(default_factory=dict)
    paced: dict[str, dict[str, KindResult]] = field(default_factory=dict)
    population: dict[str, list[dict[str, str]]] = field(default_factory=dict)


async def compare(ports: dict[str, int], world: World, args: argparse.Namespace, cpu: CpuMeter) -> Comparison:
    """Stayflow and the floor get the same requests, in rounds that alternate which goes first, so
    the noise of a shared machine falls on both sides alike."""
    rng = random.Random(SEED * 7 + world.listing_count)
    out = Comparison()
    for kind in KINDS:
        if kind == "e":
            pool: list[dict[str, str]] = []
            # Page-1 answers of `a` from Stayflow give the cursors of `e` (the floor reads them alike).
            await drive(ports["stayflow"], "a", "stayflow", [PARAMS["a"](rng, world) for _ in range(args.requests)],
                        args.concurrency, None, cursors=pool)  # fmt: skip
            rng.shuffle(pool)
            params = [pool[i % len(pool)] for i in range(args.warmup + args.requests)]
        else:
            params = [PARAMS[kind](rng, world) for _ in range(args.warmup + args.requests)]
        out.population[kind] = params
        warm, timed = params[: args.warmup], params[args.warmup :]
        best: dict[str, KindResult] = {}
        for side in SIDES:
            await drive(ports[side], kind, side, warm, args.concurrency, None)
        for round_ in range(args.rounds):
            for side in SIDES if round_ % 2 == 0 else SIDES[::-1]:
                r = await drive(ports[side], kind, side, timed, args.concurrency, cpu)
                if side not in best or r.seconds < best[side].seconds:
                    best[side] = r
        out.throughput[kind] = best
        paced_requests = timed * (1 + int(args.rate * args.paced_seconds) // len(timed))
        paced_requests = paced_requests[: int(args.rate * args.paced_seconds)]
        out.paced[kind] = {}
        for side in SIDES[::-1]:
            out.paced[kind][side] = await drive(ports[side], kind, side, paced_requests, 32, cpu, rate=args.rate)
        fl, sf = best["floor"].summary()["req_per_s"], best["stayflow"].summary()["req_per_s"]
        p = out.paced[kind]
        log(
            f"  {kind}: floor {fl} req/s, stayflow {sf} req/s (share {sf / fl:.2f}); at {args.rate:g}/s"
            f" p95 stayflow {p['stayflow'].pct(95)} ms, floor {p['floor'].pct(95)} ms"
        )
    return out


# --- Plans ----------------------------------------------------------------------------------


async def explain(
    dsn: str, samples: dict[str, dict[str, str]], population: dict[str, list[dict[str, str]]]
) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of one representative statement per kind (the request closest to
    the p95 latency), and a scan for sequential scans over a sample of each kind's requests."""
    from api.listings.search import build_search_sql
    from piccolo_conf import DB

    server_settings = DB.config.get("server_settings") or {}
    conn = await asyncpg.connect(dsn, server_settings=server_settings)
    out: dict[str, Any] = {}
    try:
        for kind, params in samples.items():
            statement, args = build_search_sql(to_query(params))
            # Run it a couple of times first: the API's connections are warm too.
            for _ in range(2):
                await conn.fetch(statement, *args)
            rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + statement, *args)
            plan = "\n".join(r[0] for r in rows)
            seq = [t for t in SEQ_SCAN_TABLES if f"Seq Scan on {t}" in plan]
            sample_seq: dict[str, int] = {t: 0 for t in SEQ_SCAN_TABLES}
            sample_times: list[float] = []
            checked = population.get(kind, [])[:: max(1, len(population.get(kind, [])) // 40)][:40]
            for p in checked:
                s, a = build_search_sql(to_query(p))
                text = "\n".join(r[0] for r in await conn.fetch("EXPLAIN (ANALYZE, FORMAT TEXT) " + s, *a))
                for t in SEQ_SCAN_TABLES:
                    sample_seq[t] += f"Seq Scan on {t}" in text
                for line in text.splitlines():
                    if line.startswith("Execution Time:"):
                        sample_times.append(float(line.split()[2]))
            out[kind] = {
                "params": params,
                "plan": plan,
                "seq_scans": seq,
                "sampled_statements": len(checked),
                "sampled_seq_scans": sample_seq,
                "sampled_execution_ms": {
                    "p50": round(statistics.median(sample_times), 3) if sample_times else None,
                    "max": round(max(sample_times), 3) if sample_times else None,
                },
            }
    finally:
        await conn.close()
    return out


# --- One size -------------------------------------------------------------------------------


def markdown(
    size: int, seed_info: dict[str, Any], rows: list[dict[str, Any]], plans: dict[str, Any], rate: float
) -> str:
    lines = [
        f"### {size:,} listings",
        "",
        f"seed: {seed_info['timings']['total_s']} s ({seed_info['rows']['bookings']:,} bookings,"
        f" {seed_info['rows']['calendar_blocks']:,} blocks, occupancy {seed_info['occupancy_next_90_days']:.0%},"
        f" generated in PostgreSQL, indexes built after loading, fsync off)",
        "",
        f"machine: {os.cpu_count()} cores; load average (1 min) {seed_info.get('load', '')}"
        " (other processes on the same cores count in it)",
        "",
        f"| kind | what | floor req/s | Stayflow req/s | share | Stayflow at {rate:g}/s p50 · p95 · p99 ms "
        f"| floor at {rate:g}/s p95 ms | SQL ms p50 (EXPLAIN) | CPU ms/req Stayflow · floor · pg | seq scans |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        plan = plans.get(r["kind"], {})
        seq = [t for t, n in plan.get("sampled_seq_scans", {}).items() if n] or (["none"] if plan else [""])
        sql = plan.get("sampled_execution_ms", {}).get("p50")
        s, f, ps, pf = r["stayflow"], r["floor"], r["paced_stayflow"], r["paced_floor"]
        lines.append(
            f"| {r['kind']} | {KIND_LABELS[r['kind']]} | {f['req_per_s']:,} | {s['req_per_s']:,} | {r['share']:.2f} "
            f"| {ps['p50_ms']} · {ps['p95_ms']} · {ps['p99_ms']} | {pf['p95_ms']} | {sql if sql is not None else ''} "
            f"| {s['cpu_ms_per_request'].get('stayflow', 0)} · {f['cpu_ms_per_request'].get('floor', 0)}"
            f" · {s['cpu_ms_per_request'].get('postgres', 0)} | {', '.join(seq)} |"
        )
    return "\n".join(lines) + "\n"


async def prewarm(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        await conn.execute(
            "SELECT pg_prewarm(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')"
        )
    finally:
        await conn.close()


def wait_for_health(child: ChildProcess, base_url: str, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"uvicorn exited with {child.process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"uvicorn did not answer /health within {timeout}s:\n{log_path.read_text()[-3000:]}")


def run_size(
    postgres: EmbeddedPostgres, template: str, home: Path, size: int, args: argparse.Namespace
) -> dict[str, Any]:
    database = f"bench_{size}"
    dsn = postgres.dsn(database)

    async def create() -> None:
        conn = await asyncpg.connect(postgres.admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
            await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", template)
            await conn.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
        finally:
            await conn.close()

    asyncio.run(create())
    log(f"\n== {size:,} listings: seeding ...")
    world, seed_info = asyncio.run(seed(dsn, size, args.exclusion_constraints))
    seed_load = os.getloadavg()[0]
    log(f"seeded in {seed_info['timings']['total_s']} s: {json.dumps(seed_info)}")
    if args.seed_only:
        hold(args, dsn)
        asyncio.run(drop_database(postgres, database))
        return {"listings": size, "seed": seed_info, "results": [], "markdown": ""}
    asyncio.run(prewarm(dsn))

    ports = {side: free_port() for side in SIDES}
    env = {
        **os.environ,
        "STAYFLOW_ENV": "test",
        "STAYFLOW_HOME": str(home),
        "STAYFLOW_DATABASE_URL": dsn,
        "STAYFLOW_TEMPORAL_ADDRESS": "127.0.0.1:1",
    }
    apps = {"stayflow": ["--factory", "api.app:app_factory"],
            "floor": ["--app-dir", str(ROOT / "bench"), "--factory", "floor_app:create_app"]}  # fmt: skip
    servers: dict[str, ChildProcess] = {}
    try:
        for side in SIDES:
            argv = [sys.executable, "-m", "uvicorn", *apps[side], "--host", "127.0.0.1", "--port", str(ports[side]),
                    "--workers", "1", "--log-level", "warning"]  # fmt: skip
            log_path = home / f"uvicorn-{side}-{size}.log"
            servers[side] = spawn(f"uvicorn-{side}", argv, env=env | {"STAYFLOW_API_PORT": str(ports[side])},
                                  log_path=log_path, cwd=ROOT)  # fmt: skip
            wait_for_health(servers[side], f"http://127.0.0.1:{ports[side]}", log_path)
        assert postgres.child is not None
        cpu = CpuMeter({side: s.process.pid for side, s in servers.items()}, postgres.child.process.pid)
        log(
            f"load: {args.requests} requests per kind and side after {args.warmup} warm-up, {args.concurrency}"
            f" connections, best of {args.rounds} alternating rounds; then {args.rate:g} req/s"
            f" for {args.paced_seconds} s"
        )
        load_before = os.getloadavg()[0]
        comparison = asyncio.run(compare(ports, world, args, cpu))
        seed_info["load"] = (
            f"{seed_load:.1f} while seeding, {load_before:.1f} → {os.getloadavg()[0]:.1f} during the load"
        )
    finally:
        for server in servers.values():
            server.stop()
    rows = []
    for kind in KINDS:
        t, p = comparison.throughput[kind], comparison.paced[kind]
        s, f = t["stayflow"].summary(), t["floor"].summary()
        rows.append({"kind": kind, "stayflow": s, "floor": f, "share": round(s["req_per_s"] / f["req_per_s"], 3),
                     "paced_stayflow": p["stayflow"].summary(), "paced_floor": p["floor"].summary()})  # fmt: skip

    representative: dict[str, dict[str, str]] = {}
    for kind in KINDS:
        paced = comparison.paced[kind]["stayflow"]
        p95 = paced.pct(95)
        representative[kind] = min(paced.samples, key=lambda s: abs(s[0] - p95))[1]
    plans = asyncio.run(explain(dsn, representative, comparison.population))

    md = markdown(size, seed_info, rows, plans, args.rate)
    report = {
        "listings": size,
        "seed": seed_info,
        "load": {"requests_per_kind": args.requests, "warmup_per_kind": args.warmup, "rounds": args.rounds,
                 "concurrency": args.concurrency, "paced_rate": args.rate, "paced_seconds": args.paced_seconds,
                 "client": "keep-alive HTTP/1.1 on asyncio streams, in the same process"},
        "results": rows,
        "plans": plans,
        "markdown": md,
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"search-{size}.json").write_text(json.dumps(report, indent=2, default=str))
    plan_md = "\n".join(
        f"\n#### {k}: {KIND_LABELS[k]}\n\nparams: `{json.dumps(p['params'])}`\n\n```\n{p['plan']}\n```"
        for k, p in plans.items()
    )
    (RESULTS / f"search-{size}.md").write_text(md + plan_md + "\n")

    log("")
    for kind, p in plans.items():
        log(f"--- EXPLAIN (ANALYZE, BUFFERS) {kind} ({KIND_LABELS[kind]}), params {json.dumps(p['params'])}")
        log(p["plan"])
        log(
            f"seq scans in this plan: {p['seq_scans'] or 'none'}; in {p['sampled_statements']} sampled statements:"
            f" {p['sampled_seq_scans']}; sampled execution ms {p['sampled_execution_ms']}"
        )
    log("")
    log(md)
    any_seq = {k: [t for t, n in p["sampled_seq_scans"].items() if n] for k, p in plans.items()}
    any_seq = {k: v for k, v in any_seq.items() if v}
    log(f"Seq Scan on listings/bookings/calendar_blocks: {any_seq or 'none'}")
    hold(args, dsn)
    asyncio.run(drop_database(postgres, database))
    return report


def hold(args: argparse.Namespace, dsn: str) -> None:
    if args.hold:
        log(f"--hold: database kept at {dsn}; send SIGTERM or Ctrl-C to clean up")
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while True:
            time.sleep(3600)


async def drop_database(postgres: EmbeddedPostgres, database: str) -> None:
    conn = await asyncpg.connect(postgres.admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()


def ratio_table(small: dict[str, Any], large: dict[str, Any]) -> str:
    by_kind = {r["kind"]: r for r in small["results"]}
    lines = [
        f"### {large['listings']:,} / {small['listings']:,} listings: Stayflow's latency ratio at the fixed rate",
        "",
        "| kind | p50 ratio | p95 ratio | p95 ≤ 50 ms at the larger size | share of the floor (small · large) |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    for r in large["results"]:
        k = by_kind.get(r["kind"])
        if not k:
            continue
        big, little = r["paced_stayflow"], k["paced_stayflow"]
        lines.append(
            f"| {r['kind']} | {big['p50_ms'] / little['p50_ms']:.2f} | {big['p95_ms'] / little['p95_ms']:.2f} "
            f"| {'yes' if big['p95_ms'] <= 50 else 'NO'} ({big['p95_ms']} ms) | {k['share']:.2f} · {r['share']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, action="append", help="size (repeatable); default 100000 and 1000000")
    parser.add_argument("--requests", type=int, default=1000, help="timed requests per kind, side and round")
    parser.add_argument("--warmup", type=int, default=100, help="warm-up requests per kind and side")
    parser.add_argument("--concurrency", type=int, default=16, help="connections in the throughput rounds")
    parser.add_argument("--rounds", type=int, default=2, help="throughput rounds per side (best one counts)")
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second of the latency run")
    parser.add_argument("--paced-seconds", type=float, default=8.0, help="length of the latency run per kind")
    parser.add_argument(
        "--exclusion-constraints",
        action="store_true",
        help="rebuild the bookings' exclusion constraint after the load, not just its index (slower)",
    )
    parser.add_argument("--seed-only", action="store_true", help="seed each size, print the timings, and stop")
    parser.add_argument("--hold", action="store_true", help="keep the last database and wait (for poking at plans)")
    args = parser.parse_args()
    sizes = args.listings or [100_000, 1_000_000]

    started = time.perf_counter()
    home = Path(tempfile.mkdtemp(prefix="stayflow-bench-"))
    postgres = EmbeddedPostgres(home / "postgres" / "data", free_port(), fast_and_unsafe=True)
    reports: list[dict[str, Any]] = []
    try:
        postgres.start()
        template = "bench_template"
        postgres.ensure_database(template)
        os.environ["STAYFLOW_ENV"] = "test"
        os.environ["STAYFLOW_HOME"] = str(home)
        os.environ["STAYFLOW_DATABASE_URL"] = postgres.dsn(template)
        os.environ["STAYFLOW_TEMPORAL_ADDRESS"] = "127.0.0.1:1"
        from stayflow.migrations import migrate

        asyncio.run(migrate())
        log(f"PostgreSQL on port {postgres.port} (fsync off: fast_and_unsafe=True), migrated template database")
        for size in sizes:
            reports.append(run_size(postgres, template, home, size, args))
        if len(reports) > 1 and not args.seed_only:
            ordered = sorted(reports, key=lambda r: r["listings"])
            ratio = ratio_table(ordered[0], ordered[-1])
            log("\n" + "\n".join(r["markdown"] for r in ordered) + "\n" + ratio)
            (RESULTS / "search-ratio.md").write_text(ratio)
    finally:
        postgres.stop()
        shutil.rmtree(home, ignore_errors=True)
    log(f"total {time.perf_counter() - started:.0f} s; load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
