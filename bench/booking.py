"""Bookings against the dev stack (issue 4): POST latency, sustained instant booking, contention.

    .venv/bin/python bench/booking.py                          # the full run (~3-4 minutes)
    .venv/bin/python bench/booking.py --duration 15 --rate 10  # a shorter one

It starts `stayflow dev` (embedded PostgreSQL, Temporal dev server, local fake Stripe, one worker,
the API) on free ports in a temp dir, seeds hosts and published instant-book listings straight
into its PostgreSQL, registers and signs in guests through the API, then:

0. The share of the floor: booking-shaped workflows doing nothing (`bench/booking_floor.py`, the
   same commands as an instant booking; its worker has workers/main.py's settings, its API does the
   same update-with-start) on the same Temporal server, and Stayflow's instant bookings, both at
   saturation in alternating closed-loop rounds: confirmed/s, CPU per process, core-ms per booking.
   `--skip-latency` runs only this; `--py-spy` profiles each side's worker meanwhile.
1. POST latency: `--post-requests` bookings at `--post-rate`/s, each on its own listing.
2. Sustained: `--rate` bookings/s for `--duration` s on distinct listings, open loop (each request
   is sent at its scheduled time, whatever the earlier ones are doing). Request -> `confirmed` is
   `bookings.confirmed_at` (written by the capture workflow's activity) minus the client's send
   time (same host clock); every `--api-poll-every`-th booking is also polled through
   `GET /api/v1/bookings/{id}` every 50 ms for the latency a client sees.
3. Contention, during phase 2: `--contention-rounds` times, `--contention` guests at once book
   overlapping dates of ONE listing: exactly one 201, the others 409.

Then it checks the database (no two live bookings of a listing overlap, one capture ledger row and
one completed payment per booking at most, intents at the fake Stripe captured once for the
payment's amount), scrapes the worker's Temporal metrics (activity and workflow-task latencies),
and prints a markdown table. Results: bench/results/booking.{json,md} (gitignored). Everything it
started is stopped (SIGINT to `stayflow dev`) and removed on exit. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import psutil  # noqa: E402

from stayflow.devstack import free_port  # noqa: E402

PASSWORD = "bench booking secret 2026"
HOLDS_DATES = ("pending_payment", "awaiting_host", "confirmed", "completed")
FAKE_STRIPE_KEY = "sk_test_stayflow_fake"
NIGHTLY_PRICE = 12_000
POLL_INTERVAL = 0.05
SETTLE_SECONDS = 10.0


def log(message: str) -> None:
    print(message, flush=True)


def pct(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile; `inf` entries (never happened) count, so they can push it to inf."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def ms(value: float | None) -> float | None:
    if value is None:
        return None
    return value if math.isinf(value) else round(value, 1)


def summary(values: list[float]) -> dict[str, Any]:
    finite = [v for v in values if not math.isinf(v)]
    return {
        "n": len(values),
        "p50": ms(pct(values, 50)),
        "p95": ms(pct(values, 95)),
        "p99": ms(pct(values, 99)),
        "max": ms(max(values)) if values else None,
        "mean": ms(statistics.fmean(finite)) if finite else None,
    }


# --- The dev stack ---------------------------------------------------------------------------


class DevStack:
    """`python -m stayflow.cli dev` on free ports, as tests/e2e/test_make_dev.py starts it."""

    def __init__(self, home: Path, max_unconfirmed: int) -> None:
        self.home = home
        self.api_port = free_port()
        self.ui_port = free_port()
        self.metrics_port = free_port()
        self.postgres_port = free_port()
        self.stripe_port = free_port()
        self.temporal_port = free_port()
        self.env = os.environ | {
            "STAYFLOW_ENV": "dev",
            "STAYFLOW_HOME": str(home),
            "STAYFLOW_API_PORT": str(self.api_port),
            "STAYFLOW_PUBLIC_URL": f"http://127.0.0.1:{self.api_port}",
            "STAYFLOW_TEMPORAL_UI_URL": f"http://127.0.0.1:{self.ui_port}",
            "STAYFLOW_DEV_TEMPORAL_PORT": str(self.temporal_port),
            "STAYFLOW_DEV_POSTGRES_PORT": str(self.postgres_port),
            "STAYFLOW_WORKER_METRICS_ADDRESS": f"127.0.0.1:{self.metrics_port}",
            "STAYFLOW_STRIPE_API_BASE": f"http://127.0.0.1:{self.stripe_port}",
            "STAYFLOW_AUTH_RATE_LIMIT_PER_MINUTE": "100000",
            "STAYFLOW_LOGIN_ATTEMPTS_PER_ACCOUNT": "100000",
            "STAYFLOW_MAX_UNCONFIRMED_BOOKINGS": str(max_unconfirmed),
        }
        for name in ("STAYFLOW_DATABASE_URL", "STAYFLOW_TEMPORAL_ADDRESS", "STAYFLOW_JWT_SECRET", "STRIPE_API_KEY"):
            self.env.pop(name, None)
        self.process: subprocess.Popen[bytes] | None = None
        self.output = home / "stayflow-dev.out"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.postgres_port}/stayflow"

    @property
    def stripe(self) -> str:
        return f"http://127.0.0.1:{self.stripe_port}"

    @property
    def metrics(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def temporal(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.output.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def start(self, timeout: float = 120) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "stayflow.cli", "dev"],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"stayflow dev exited with {self.process.returncode}:\n{self.tail()}")
            try:
                if httpx.get(f"{self.api}/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"stayflow dev was not ready within {timeout}s:\n{self.tail()}")

    def processes(self) -> dict[str, psutil.Process]:
        """The stack's main processes by role (PostgreSQL's backends are the postmaster's children)."""
        assert self.process is not None
        found: dict[str, psutil.Process] = {}
        for p in psutil.Process(self.process.pid).children(recursive=True):
            try:
                cmd = " ".join(p.cmdline())
            except psutil.Error:
                continue
            if "stripe_server" in cmd:
                role = "fake_stripe"
            elif "stayflow.cli worker" in cmd:
                role = "worker"
            elif "stayflow.cli api" in cmd:
                role = "api"
            elif "temporal" in cmd.split()[0] if cmd else False:
                role = "temporal"
            elif os.path.basename(cmd.split()[0]) == "postgres" if cmd else False:
                role = "postgres"
            else:
                continue
            if role == "postgres" and "postgres" in found:
                continue  # keep the postmaster (the first found), not its backends
            found.setdefault(role, p)
        return found

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


class CpuMeter:
    """CPU seconds of each stack process (with its children) and of this load generator."""

    def __init__(self, procs: dict[str, psutil.Process]) -> None:
        self.procs = procs
        self.me = psutil.Process()

    def sample(self) -> dict[str, float]:
        def total(p: psutil.Process, children: bool) -> float:
            try:
                t = p.cpu_times()
                own = t.user + t.system
                if children:
                    for c in p.children(recursive=True):
                        try:
                            ct = c.cpu_times()
                            own += ct.user + ct.system
                        except psutil.Error:
                            pass
                return own
            except psutil.Error:
                return 0.0

        out = {name: total(p, True) for name, p in self.procs.items()}
        out["loadgen"] = total(self.me, False)
        return out


# --- Worker metrics (Temporal SDK, Prometheus) -------------------------------------------------

_METRIC = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
LATENCIES = {
    "temporal_activity_schedule_to_start_latency": "activity_type",
    "temporal_activity_execution_latency": "activity_type",
    "temporal_workflow_task_schedule_to_start_latency": "workflow_type",
    "temporal_workflow_task_execution_latency": "workflow_type",
    "temporal_workflow_endtoend_latency": "workflow_type",
}


def scrape(url: str) -> dict[tuple[str, str, str], float]:
    """{(histogram, key label value, le|sum|count): value} for the latency histograms above."""
    try:
        text = httpx.get(url, timeout=5).text
    except httpx.HTTPError:
        return {}
    out: dict[tuple[str, str, str], float] = defaultdict(float)
    for line in text.splitlines():
        m = _METRIC.match(line)
        if not m:
            continue
        name, labels_text, value = m.groups()
        labels = dict(_LABEL.findall(labels_text or ""))
        for base, key in LATENCIES.items():
            if name == f"{base}_bucket":
                out[(base, labels.get(key, "?"), labels.get("le", "?"))] += float(value)
            elif name in (f"{base}_sum", f"{base}_count"):
                out[(base, labels.get(key, "?"), name.rsplit("_", 1)[1])] += float(value)
    return out


def latency_table(
    before: dict[tuple[str, str, str], float], after: dict[tuple[str, str, str], float]
) -> list[dict[str, Any]]:
    """Per histogram and activity/workflow type: count, mean and bucket-estimated p95 over the window."""
    delta = {k: v - before.get(k, 0.0) for k, v in after.items()}
    groups: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for (base, kind, part), v in delta.items():
        groups[(base, kind)][part] = v
    rows = []
    for (base, kind), parts in sorted(groups.items()):
        count = parts.get("count", 0.0)
        if count <= 0:
            continue
        buckets = sorted(
            ((float(le), v) for le, v in parts.items() if le not in ("sum", "count")),
            key=lambda b: b[0],
        )
        p95 = None
        for le, cumulative in buckets:
            if cumulative >= 0.95 * count:
                p95 = le
                break
        rows.append({
            "metric": base.removeprefix("temporal_"),
            "type": kind,
            "count": int(count),
            "mean_ms": round(parts.get("sum", 0.0) / count, 1),
            "p95_ms_le": p95,
        })  # fmt: skip
    return rows


# --- Seeding -----------------------------------------------------------------------------------


LISTING_COLUMNS = [
    "id", "host", "title", "description", "property_type", "address_line", "city", "city_key", "country",
    "latitude", "longitude", "max_guests", "bedrooms", "beds", "bathrooms", "amenities", "nightly_price",
    "cleaning_fee", "currency", "min_nights", "max_nights", "instant_book", "cancellation_policy", "status",
    "review_notes", "rating_average", "rating_count", "created_at", "updated_at", "published_at",
]  # fmt: skip


async def seed_listings(dsn: str, n_listings: int, n_hosts: int) -> list[uuid.UUID]:
    now = dt.datetime.now(dt.UTC)
    hosts = [uuid.uuid4() for _ in range(n_hosts)]
    users = [
        (h, f"bench-host-{i}@bench.stayflow.test", "bench-not-a-real-hash", f"Bench Host {i}", "host", now, now)
        for i, h in enumerate(hosts)
    ]
    ids = [uuid.uuid4() for _ in range(n_listings)]
    listings = [
        (
            lid, hosts[i % n_hosts], f"Bench flat {i}", "Synthetic listing for the booking benchmark.", "apartment",
            f"{i + 1} Bench Street", "Benchville", "benchville", "FR", 48.85 + (i % 100) / 1000,
            2.35 + (i // 100) / 1000, 4, 2, 2, 1.0, ["wifi", "kitchen"], NIGHTLY_PRICE, 3_000, "USD", 1, 30, True,
            "moderate", "published", None, None, 0, now - dt.timedelta(days=30), now - dt.timedelta(days=30),
            now - dt.timedelta(days=29),
        )
        for i, lid in enumerate(ids)
    ]  # fmt: skip
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public'"
            " AND table_name = 'listings' AND is_nullable = 'NO' AND column_default IS NULL"
        )
        missing = [r["column_name"] for r in rows if r["column_name"] not in LISTING_COLUMNS]
        if missing:
            raise RuntimeError(f"listings: NOT NULL columns without default not filled: {missing}")
        await conn.copy_records_to_table(
            "users",
            columns=["id", "email", "password_hash", "full_name", "role", "created_at", "updated_at"],
            records=users,
        )
        await conn.copy_records_to_table("listings", columns=LISTING_COLUMNS, records=listings)
        await conn.execute("ANALYZE users, listings")
    finally:
        await conn.close()
    return ids


async def sign_up_guests(client: httpx.AsyncClient, n: int, concurrency: int = 8) -> list[str]:
    """Register and sign in `n` guests through the API; their bearer tokens."""
    run = uuid.uuid4().hex[:8]
    tokens: list[str | None] = [None] * n
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        email = f"bench-guest-{run}-{i}@example.com"
        async with gate:
            r = await client.post(
                "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "full_name": f"Bench Guest {i}"}
            )
            if r.status_code != 201:
                raise RuntimeError(f"register {email}: {r.status_code} {r.text}")
            r = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
            if r.status_code != 200:
                raise RuntimeError(f"login {email}: {r.status_code} {r.text}")
            tokens[i] = r.json()["access_token"]

    await asyncio.gather(*(one(i) for i in range(n)))
    return [t for t in tokens if t]


async def mark_emails_verified(dsn: str) -> None:
    """Booking needs a verified email; the bench's guests skip opening the emailed link."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("UPDATE users SET email_verified_at = now() WHERE email_verified_at IS NULL")
    finally:
        await conn.close()


# --- Load --------------------------------------------------------------------------------------


@dataclass
class Attempt:
    phase: str
    listing_id: str
    check_in: str
    check_out: str
    scheduled: float  # loop time the request was due
    sent_lag_ms: float = 0.0  # how late the load generator sent it
    sent_wall: float = 0.0  # time.time() at send
    post_ms: float = 0.0
    status_code: int = 0
    booking_id: str | None = None
    error: str | None = None
    api_confirmed_ms: float | None = None  # send -> first GET showing `confirmed` (polled ones only)
    api_final_status: str | None = None
    polled: bool = False
    token: str = field(default="", repr=False)


class Booker:
    def __init__(self, client: httpx.AsyncClient, tokens: list[str]) -> None:
        self.client = client
        self.tokens = tokens
        self.next_guest = 0

    def guest(self) -> str:
        token = self.tokens[self.next_guest % len(self.tokens)]
        self.next_guest += 1
        return token

    async def book(self, attempt: Attempt, token: str, poll: bool = False, poll_timeout: float = 20.0) -> Attempt:
        loop = asyncio.get_running_loop()
        body = {"listing_id": attempt.listing_id, "check_in": attempt.check_in, "check_out": attempt.check_out,
                "guests": 2, "payment_method": "pm_card_visa"}  # fmt: skip
        attempt.token = token
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
        start = loop.time()
        attempt.sent_lag_ms = max(0.0, (start - attempt.scheduled) * 1000)
        attempt.sent_wall = time.time()
        try:
            r = await self.client.post("/api/v1/bookings", json=body, headers=headers)
        except httpx.HTTPError as exc:
            attempt.post_ms = (loop.time() - start) * 1000
            attempt.error = f"{type(exc).__name__}: {exc}"
            return attempt
        attempt.post_ms = (loop.time() - start) * 1000
        attempt.status_code = r.status_code
        if r.status_code == 201:
            attempt.booking_id = r.json()["id"]
        elif r.status_code != 409:
            attempt.error = f"{r.status_code}: {r.text[:300]}"
        if poll and attempt.booking_id:
            attempt.polled = True
            deadline = start + poll_timeout
            auth = {"Authorization": f"Bearer {token}"}
            while loop.time() < deadline:
                await asyncio.sleep(POLL_INTERVAL)
                try:
                    g = await self.client.get(f"/api/v1/bookings/{attempt.booking_id}", headers=auth)
                except httpx.HTTPError:
                    continue
                if g.status_code != 200:
                    continue
                status = g.json()["status"]
                attempt.api_final_status = status
                if status == "confirmed":
                    attempt.api_confirmed_ms = (loop.time() - start) * 1000
                    break
                if status not in ("pending_payment", "awaiting_host"):
                    break
        return attempt


async def open_loop(
    booker: Booker,
    phase: str,
    listings: list[uuid.UUID],
    rate: float,
    check_in: dt.date,
    poll_every: int = 0,
    side_jobs: list[tuple[float, Any]] | None = None,
) -> tuple[list[Attempt], float, list[Any]]:
    """One booking per listing, the i-th sent at start + i/rate; side jobs start at their offsets."""
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.1
    tasks: list[asyncio.Task[Attempt]] = []
    pending_side = sorted(side_jobs or [], key=lambda j: j[0])
    side_tasks: list[asyncio.Task[Any]] = []
    check_out = (check_in + dt.timedelta(days=2)).isoformat()
    for i, listing in enumerate(listings):
        due = t0 + i / rate
        while pending_side and t0 + pending_side[0][0] <= due:
            at, job = pending_side.pop(0)
            delay = t0 + at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            side_tasks.append(asyncio.create_task(job()))
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        attempt = Attempt(phase, str(listing), check_in.isoformat(), check_out, scheduled=due)
        poll = poll_every > 0 and i % poll_every == 0
        tasks.append(asyncio.create_task(booker.book(attempt, booker.guest(), poll=poll)))
    for _, job in pending_side:
        side_tasks.append(asyncio.create_task(job()))
    send_span = loop.time() - t0
    attempts = list(await asyncio.gather(*tasks))
    side_results = list(await asyncio.gather(*side_tasks))
    return attempts, send_span, side_results


async def contention_round(
    booker: Booker, listing: uuid.UUID, first_night: dt.date, n: int, round_no: int
) -> dict[str, Any]:
    """`n` guests at once, every stay covering `first_night + 2`: exactly one may win."""
    loop = asyncio.get_running_loop()
    due = loop.time() + 0.05
    attempts = []
    for i in range(n):
        check_in = first_night + dt.timedelta(days=i % 3)
        attempts.append(
            Attempt(f"contention-{round_no}", str(listing), check_in.isoformat(),
                    (check_in + dt.timedelta(days=3)).isoformat(), scheduled=due)
        )  # fmt: skip
    tokens = [booker.tokens[(round_no * n + i) % len(booker.tokens)] for i in range(n)]
    done = await asyncio.gather(*(booker.book(a, t) for a, t in zip(attempts, tokens, strict=True)))
    codes: dict[str, int] = defaultdict(int)
    for a in done:
        codes[str(a.status_code or "error")] += 1
    return {
        "round": round_no,
        "listing_id": str(listing),
        "requests": n,
        "status_codes": dict(codes),
        "winners": [a.booking_id for a in done if a.status_code == 201],
        "errors": [a.error for a in done if a.error][:5],
        "post_ms": summary([a.post_ms for a in done]),
    }


async def wait_confirmed(dsn: str, ids: list[str], within: float) -> dict[str, int]:
    deadline = time.monotonic() + within
    conn = await asyncpg.connect(dsn)
    try:
        while True:
            rows = await conn.fetch(
                "SELECT status, count(*) AS n FROM bookings WHERE id = ANY($1::uuid[]) GROUP BY 1", ids
            )
            counts = {r["status"]: r["n"] for r in rows}
            if counts.get("confirmed", 0) >= len(ids) or time.monotonic() > deadline:
                return counts
            await asyncio.sleep(0.25)
    finally:
        await conn.close()


async def booking_rows(dsn: str, ids: list[str]) -> dict[str, asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT b.id::text AS id, b.status, b.created_at, b.confirmed_at, p.status AS payment_status"
            " FROM bookings b LEFT JOIN payments p ON p.booking = b.id WHERE b.id = ANY($1::uuid[])",
            ids,
        )
    finally:
        await conn.close()
    return {r["id"]: r for r in rows}


def confirm_latencies(attempts: list[Attempt], rows: dict[str, asyncpg.Record]) -> dict[str, Any]:
    """Per booking answered 201: send -> confirmed_at (client clock = DB clock, one host) and
    created_at -> confirmed_at (both written by the product). Never confirmed counts as inf."""
    from_send: list[float] = []
    from_insert: list[float] = []
    statuses: dict[str, int] = defaultdict(int)
    for a in attempts:
        if not a.booking_id:
            continue
        row = rows.get(a.booking_id)
        statuses[row["status"] if row else "missing"] += 1
        if row is None or row["confirmed_at"] is None:
            from_send.append(math.inf)
            from_insert.append(math.inf)
            continue
        from_send.append((row["confirmed_at"].timestamp() - a.sent_wall) * 1000)
        from_insert.append((row["confirmed_at"] - row["created_at"]).total_seconds() * 1000)
    api = [a.api_confirmed_ms if a.api_confirmed_ms is not None else math.inf for a in attempts if a.polled]
    return {
        "statuses": dict(statuses),
        "request_to_confirmed_ms": summary(from_send),
        "created_to_confirmed_ms": summary(from_insert),
        "api_polled_request_to_confirmed_ms": summary(api),
    }


def phase_summary(attempts: list[Attempt], send_span: float) -> dict[str, Any]:
    codes: dict[str, int] = defaultdict(int)
    for a in attempts:
        codes[str(a.status_code or "error")] += 1
    ok = [a for a in attempts if a.status_code == 201]
    return {
        "requests": len(attempts),
        "send_span_s": round(send_span, 2),
        "offered_rate_per_s": round((len(attempts) - 1) / send_span, 2) if send_span > 0 else None,
        "created_per_s": round(len(ok) / max(send_span, 1e-9), 2),
        "status_codes": dict(codes),
        "post_ms": summary([a.post_ms for a in attempts]),
        "post_201_ms": summary([a.post_ms for a in ok]),
        "send_lag_ms": summary([a.sent_lag_ms for a in attempts]),
        "errors": [a.error for a in attempts if a.error][:10],
    }


async def timelines(client: httpx.AsyncClient, sample: list[tuple[str, str]]) -> dict[str, Any]:
    """Median gap between workflow steps (workflow.now() at each step) over a sample of bookings."""
    gaps: dict[str, list[float]] = defaultdict(list)

    async def one(booking_id: str, token: str) -> list[dict[str, str]]:
        # A query is answered by the worker: behind a backlog it waits in line, so give up after 10 s.
        try:
            r = await client.get(
                f"/api/v1/bookings/{booking_id}/timeline", headers={"Authorization": f"Bearer {token}"}, timeout=10
            )
        except httpx.HTTPError:
            return []
        return list(r.json()["steps"]) if r.status_code == 200 else []

    for steps in await asyncio.gather(*(one(b, t) for b, t in sample)):
        for before, after in itertools.pairwise(steps):
            gap = dt.datetime.fromisoformat(after["at"]) - dt.datetime.fromisoformat(before["at"])
            gaps[f"{before['step']} -> {after['step']}"].append(gap.total_seconds() * 1000)
    return {k: {"n": len(v), "p50_ms": ms(pct(v, 50)), "p95_ms": ms(pct(v, 95))} for k, v in gaps.items()}


# --- Integrity ----------------------------------------------------------------------------------


async def integrity(dsn: str, stripe_base: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        overlaps = await conn.fetch(
            """SELECT a.id AS a, b.id AS b, a.listing FROM bookings a JOIN bookings b
                 ON a.listing = b.listing AND a.id < b.id
                AND daterange(a.check_in, a.check_out) && daterange(b.check_in, b.check_out)
              WHERE a.status = ANY($1::text[]) AND b.status = ANY($1::text[])""",
            list(HOLDS_DATES),
        )
        double_ledger = await conn.fetch(
            "SELECT booking, count(*) AS n FROM ledger_entries WHERE kind = 'capture'"
            " GROUP BY booking HAVING count(*) > 1"
        )
        double_payments = await conn.fetch(
            "SELECT booking, count(*) AS n FROM payments WHERE status = 'completed'"
            " GROUP BY booking HAVING count(*) > 1"
        )
        shared_intents = await conn.fetch(
            "SELECT intent_id, count(*) AS n FROM payments WHERE intent_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1"
        )
        totals = await conn.fetchrow(
            """SELECT (SELECT count(*) FROM bookings) AS bookings,
                      (SELECT count(*) FROM bookings WHERE status IN ('confirmed', 'completed')) AS confirmed,
                      (SELECT count(*) FROM payments WHERE status = 'completed') AS payments_completed,
                      (SELECT count(*) FROM ledger_entries WHERE kind = 'capture') AS capture_rows,
                      (SELECT count(*) FROM ledger_entries WHERE kind = 'authorization') AS authorization_rows"""
        )
        mismatched = await conn.fetch(
            """SELECT b.id FROM bookings b JOIN payments p ON p.booking = b.id
              WHERE (b.status IN ('confirmed', 'completed')) <> (p.status = 'completed')"""
        )
        captured = await conn.fetch(
            "SELECT booking::text AS booking, intent_id, amount FROM payments WHERE status = 'completed'"
        )
    finally:
        await conn.close()

    # The fake Stripe keeps its request log in its own process; what it answers per intent is the
    # check from outside: each captured intent `succeeded` once, for exactly the payment's amount.
    stripe: dict[str, Any] = {"checked": 0, "succeeded_for_amount": 0, "problems": []}
    async with httpx.AsyncClient(base_url=stripe_base, headers={"Authorization": f"Bearer {FAKE_STRIPE_KEY}"},
                                 timeout=10) as client:  # fmt: skip
        gate = asyncio.Semaphore(8)

        async def check(row: asyncpg.Record) -> None:
            async with gate:
                r = await client.get(f"/v1/payment_intents/{row['intent_id']}")
            stripe["checked"] += 1
            body = r.json() if r.status_code == 200 else {}
            if body.get("status") == "succeeded" and body.get("amount_received") == row["amount"]:
                stripe["succeeded_for_amount"] += 1
            elif len(stripe["problems"]) < 10:
                stripe["problems"].append({"booking": row["booking"], "http": r.status_code,
                                           "status": body.get("status"), "received": body.get("amount_received"),
                                           "amount": row["amount"]})  # fmt: skip

        await asyncio.gather(*(check(r) for r in captured))
    return {
        "overlapping_live_bookings": len(overlaps),
        "overlap_examples": [dict(r) for r in overlaps[:5]],
        "bookings_with_more_than_one_capture_row": len(double_ledger),
        "bookings_with_more_than_one_completed_payment": len(double_payments),
        "payments_sharing_an_intent": len(shared_intents),
        "booking_and_payment_disagree_after_drain": len(mismatched),
        "totals": dict(totals) if totals else {},
        "fake_stripe": stripe,
    }


# --- The floor: booking-shaped workflows that do nothing, on the same server -----------------------


class Floor:
    """`bench/booking_floor.py`'s worker and API (one uvicorn worker, like `stayflow api`), on the
    dev stack's Temporal server, each in its own process like the stack's worker and API."""

    def __init__(self, home: Path, temporal: str) -> None:
        self.home = home
        self.temporal = temporal
        self.api_port = free_port()
        self.counter_port = free_port()
        self.metrics_port = free_port()
        self.env = os.environ | {
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "bench")]),
            "STAYFLOW_TEMPORAL_ADDRESS": temporal,
        }
        self.worker: subprocess.Popen[bytes] | None = None
        self.api_process: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        with (self.home / f"{name}.out").open("wb") as out:
            return subprocess.Popen(argv, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)

    def tail(self, name: str) -> str:
        try:
            return (self.home / f"{name}.out").read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def start(self, timeout: float = 90, attempts: int = 3) -> None:
        """Start both; a port another process took since `free_port` picked it: new ports, again."""
        for attempt in range(attempts):
            try:
                self._start(timeout)
                return
            except RuntimeError as exc:
                if "address already in use" not in str(exc) or attempt == attempts - 1:
                    raise
                self.stop()
                self.api_port, self.counter_port, self.metrics_port = free_port(), free_port(), free_port()

    def _start(self, timeout: float) -> None:
        self.worker = self._spawn("floor-worker", [
            sys.executable, str(ROOT / "bench" / "booking_floor.py"), "worker", "--address", self.temporal,
            "--counter-port", str(self.counter_port), "--metrics-address", f"127.0.0.1:{self.metrics_port}",
        ])  # fmt: skip
        self.api_process = self._spawn("floor-api", [
            sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "bench"), "--factory",
            "booking_floor_api:create_app", "--host", "127.0.0.1", "--port", str(self.api_port),
            "--log-level", "warning", "--no-access-log",
        ])  # fmt: skip
        deadline = time.monotonic() + timeout
        worker_ready = api_ready = False
        while time.monotonic() < deadline and not (worker_ready and api_ready):
            for name, p in (("floor-worker", self.worker), ("floor-api", self.api_process)):
                if p.poll() is not None:
                    raise RuntimeError(f"{name} exited with {p.returncode}:\n{self.tail(name)}")
            worker_ready = worker_ready or "floor worker ready" in self.tail("floor-worker")
            if not api_ready:
                try:
                    api_ready = httpx.get(f"{self.api}/ready", timeout=2).status_code == 200
                except httpx.HTTPError:
                    pass
            time.sleep(0.3)
        if not (worker_ready and api_ready):
            raise RuntimeError(f"the floor was not ready within {timeout}s:\n{self.tail('floor-worker')}\n"
                               f"{self.tail('floor-api')}")  # fmt: skip

    def processes(self) -> dict[str, psutil.Process]:
        assert self.worker is not None and self.api_process is not None
        return {"floor_worker": psutil.Process(self.worker.pid), "floor_api": psutil.Process(self.api_process.pid)}

    async def confirmed(self) -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.counter_port)
        try:
            return int((await reader.readline()).strip() or 0)
        finally:
            writer.close()

    def stop(self) -> None:
        for p in (self.api_process, self.worker):
            if p is None or p.poll() is not None:
                continue
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


class ConfirmedInDb:
    """How many bookings have `confirmed_at` (the capture's local activity wrote it)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn: asyncpg.Connection | None = None

    async def __call__(self) -> int:
        if self.conn is None:
            self.conn = await asyncpg.connect(self.dsn)
        return int(await self.conn.fetchval("SELECT count(*) FROM bookings WHERE confirmed_at IS NOT NULL"))

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()


async def closed_loop(
    booker: Booker,
    side: str,
    listings: Iterator[str],
    stay: dt.date,
    confirmed: Callable[[], Awaitable[int]],
    meter: CpuMeter,
    args: argparse.Namespace,
    profile: tuple[int, Path] | None = None,
) -> dict[str, Any]:
    """Saturation: keep `--concurrency` bookings sent and not yet confirmed (a new one as soon as one
    confirms or is refused with a 409), for `--saturation-warmup` s not counted, then `--saturation-seconds` s
    counted: confirmations per second over that window, the CPU every process used in it."""
    loop = asyncio.get_running_loop()
    base = await confirmed()
    sent = refused = 0
    attempts: list[Attempt] = []
    tasks: set[asyncio.Task[Attempt]] = set()
    check_out = (stay + dt.timedelta(days=2)).isoformat()

    def finished(task: asyncio.Task[Attempt]) -> None:
        # Only a 409 held nothing. A 503 (the API gave up waiting for the `place` update) or a lost
        # connection may still be placed and confirmed by its run: it stays in flight, so that an
        # overloaded stack is not sent ever more work.
        nonlocal refused
        tasks.discard(task)
        if task.result().status_code == 409:
            refused += 1

    t0 = loop.time()
    t_mark, t_end = t0 + args.saturation_warmup, t0 + args.saturation_warmup + args.saturation_seconds
    mark: tuple[float, int, dict[str, float]] | None = None
    spy: asyncio.subprocess.Process | None = None
    while True:
        done = await confirmed() - base
        now = loop.time()
        if mark is None and now >= t_mark:
            mark = (now, done, meter.sample())
            if profile is not None:  # py-spy on this side's worker over the counted window
                spy = await asyncio.create_subprocess_exec(
                    str(Path(sys.executable).with_name("py-spy")), "record", "--nonblocking", "--pid",
                    str(profile[0]), "--duration", str(int(args.saturation_seconds)), "--format", "raw",
                    "-o", str(profile[1]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
        if now >= t_end:
            end = (now, done, meter.sample())
            break
        for _ in range(args.concurrency - (sent - done - refused)):
            a = Attempt(f"saturation-{side}", next(listings), stay.isoformat(), check_out, scheduled=loop.time())
            attempts.append(a)
            task = asyncio.create_task(booker.book(a, booker.guest()))
            task.add_done_callback(finished)
            tasks.add(task)
            sent += 1
        await asyncio.sleep(POLL_INTERVAL)
    assert mark is not None
    if spy is not None:
        await asyncio.wait_for(spy.wait(), timeout=60)
    # Let what is in flight confirm, so that the next round starts on a quiet stack.
    deadline = time.monotonic() + args.drain_timeout
    while time.monotonic() < deadline:
        if not tasks and await confirmed() - base + refused >= sent - failed(attempts):
            break
        await asyncio.sleep(0.2)
    window = end[0] - mark[0]
    count = end[1] - mark[1]
    cpu = {k: end[2][k] - mark[2].get(k, 0.0) for k in end[2]}
    codes: dict[str, int] = defaultdict(int)
    for a in attempts:
        codes[str(a.status_code or "error")] += 1
    return {
        "side": side,
        "concurrency": args.concurrency,
        "window_s": round(window, 2),
        "confirmed": count,
        "confirmed_per_s": round(count / window, 2),
        "sent": sent,
        "status_codes": dict(codes),
        "errors": [a.error for a in attempts if a.error][:5],
        "post_ms": summary([a.post_ms for a in attempts]),
        "cpu_percent_of_one_core": {k: round(100 * v / window, 1) for k, v in cpu.items()},
        "core_ms_per_booking": {k: round(1000 * v / max(count, 1), 2) for k, v in cpu.items()},
    }


def failed(attempts: list[Attempt]) -> int:
    """Sent and answered neither 201 nor 409 (not waited for when draining)."""
    return sum(1 for a in attempts if a.status_code not in (201, 409))


async def history_shape(temporal: str, workflow_id: str) -> list[str]:
    """The run's history as event kinds (activity and local activity by count, not by name), to
    show that the floor takes the same commands as a real instant booking."""
    from temporalio.client import Client

    client = await Client.connect(temporal)
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    shape = []
    for event in history.events:
        kind = temporalio_event_name(event.event_type)
        if kind == "MARKER_RECORDED":
            kind = "LOCAL_ACTIVITY"
        shape.append(kind)
    return shape


def temporalio_event_name(event_type: int) -> str:
    from temporalio.api.enums.v1 import EventType

    return EventType.Name(event_type).removeprefix("EVENT_TYPE_")  # type: ignore[arg-type]


def shape_counts(shape: list[str]) -> dict[str, int]:
    interesting = ("WORKFLOW_TASK_COMPLETED", "ACTIVITY_TASK_SCHEDULED", "LOCAL_ACTIVITY", "TIMER_STARTED",
                   "WORKFLOW_EXECUTION_UPDATE_ACCEPTED", "WORKFLOW_EXECUTION_UPDATE_COMPLETED",
                   "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES")  # fmt: skip
    return {k: shape.count(k) for k in interesting}


async def saturation(
    stack: DevStack, floor: Floor, booker: Booker, listings: list[uuid.UUID],
    stay: dt.date, args: argparse.Namespace, sample_booking: str | None,
) -> dict[str, Any]:  # fmt: skip
    """Stayflow's instant bookings and the floor's, alternating rounds at saturation (closed loop)."""
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(base_url=floor.api, timeout=30, limits=limits) as floor_client:
        floor_booker = Booker(floor_client, booker.tokens)
        warm, _, _ = await open_loop(floor_booker, "floor-warmup", [uuid.uuid4() for _ in range(args.warmup)], 5,
                                     stay)  # fmt: skip
        await asyncio.sleep(2)  # the warm-up's deliveries
        floor_sample = next((a.booking_id for a in warm if a.booking_id), None)
        shapes: dict[str, Any] = {}
        if sample_booking and floor_sample:
            real = await history_shape(stack.temporal, f"booking-{sample_booking}")
            bare = await history_shape(stack.temporal, f"booking-floor-{floor_sample}")
            shapes = {"stayflow": shape_counts(real), "floor": shape_counts(bare), "same": real == bare,
                      "stayflow_events": real, "floor_events": bare}  # fmt: skip
            log(f"history of an instant booking vs the floor's: {shapes['stayflow']} vs {shapes['floor']}"
                f" ({'the same event sequence' if shapes['same'] else 'DIFFERENT event sequences'})")  # fmt: skip
        meter = CpuMeter(stack.processes() | floor.processes())
        RESULTS.mkdir(parents=True, exist_ok=True)
        real_listings = iter(str(i) for i in listings)
        floor_listings = iter(str(uuid.uuid4()) for _ in itertools.count())
        in_db = ConfirmedInDb(stack.dsn)
        rounds: list[dict[str, Any]] = []
        try:
            for r in range(args.saturation_rounds):
                for side in ("stayflow", "floor") if r % 2 == 0 else ("floor", "stayflow"):
                    procs = meter.procs
                    profile = None
                    if args.py_spy:
                        pid = procs["worker" if side == "stayflow" else "floor_worker"].pid
                        profile = (pid, RESULTS / f"py-spy-{side}-round{r}.txt")
                    if side == "stayflow":
                        result = await closed_loop(booker, side, real_listings, stay, in_db, meter, args, profile)
                    else:
                        result = await closed_loop(floor_booker, side, floor_listings, stay, floor.confirmed, meter,
                                                   args, profile)  # fmt: skip
                    result["round"] = r
                    rounds.append(result)
                    log(f"  round {r} {side}: {result['confirmed_per_s']} confirmed/s at {args.concurrency} in flight,"
                        f" codes {result['status_codes']}, CPU % {result['cpu_percent_of_one_core']}")  # fmt: skip
        finally:
            await in_db.close()
    best = {
        side: max((x for x in rounds if x["side"] == side), key=lambda x: x["confirmed_per_s"])
        for side in ("stayflow", "floor")
    }
    return {
        "rounds": rounds,
        "best": best,
        "share": round(best["stayflow"]["confirmed_per_s"] / max(best["floor"]["confirmed_per_s"], 1e-9), 3),
        "history_shapes": shapes,
    }


# --- The run -------------------------------------------------------------------------------------


async def run(stack: DevStack, floor: Floor, args: argparse.Namespace) -> dict[str, Any]:
    if args.skip_latency:
        args.post_requests, args.duration, args.contention_rounds = 0, 0, 0
    n_sustained = max(1, round(args.rate * args.duration))
    n_saturation = round(args.saturation_rounds * (args.saturation_seconds + args.saturation_warmup + 30)
                         * args.saturation_max_rate) + args.concurrency  # fmt: skip
    n_listings = args.warmup + args.post_requests + n_sustained + 1 + n_saturation
    t = time.perf_counter()
    ids = await seed_listings(stack.dsn, n_listings, args.hosts)
    saturation_ids, ids = ids[:n_saturation], ids[n_saturation:]
    warm_ids, ids = ids[: args.warmup], ids[args.warmup :]
    post_ids, ids = ids[: args.post_requests], ids[args.post_requests :]
    sustained_ids, contended = ids[:n_sustained], ids[n_sustained]
    log(f"seeded {n_listings} published instant-book listings of {args.hosts} hosts in {time.perf_counter() - t:.1f} s")

    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(base_url=stack.api, timeout=30, limits=limits) as client:
        t = time.perf_counter()
        tokens = await sign_up_guests(client, args.guests)
        await mark_emails_verified(stack.dsn)
        log(f"registered and signed in {len(tokens)} guests through the API in {time.perf_counter() - t:.1f} s")
        booker = Booker(client, tokens)
        today = dt.datetime.now(dt.UTC).date()
        stay = today + dt.timedelta(days=30)

        sample_booking = None
        if warm_ids:
            warm, _, _ = await open_loop(booker, "warmup", warm_ids, 5, stay)
            await wait_confirmed(stack.dsn, [a.booking_id for a in warm if a.booking_id], 30)
            log(f"warm-up: {len(warm)} bookings, codes {phase_summary(warm, 1)['status_codes']}")
            sample_booking = next((a.booking_id for a in warm if a.booking_id), None)

        # Phase 0: the share of the floor, both at saturation, alternating rounds.
        floor_report: dict[str, Any] = {}
        if args.saturation_rounds > 0:
            log(f"phase 0: {args.saturation_rounds} rounds each of Stayflow and the floor, closed loop,"
                f" {args.concurrency} in flight, {args.saturation_seconds:.0f} s counted after"
                f" {args.saturation_warmup:.0f} s")  # fmt: skip
            floor_report = await saturation(stack, floor, booker, saturation_ids, stay + dt.timedelta(days=60),
                                            args, sample_booking)  # fmt: skip
            log(f"  share of the floor: {floor_report['share']}")
        if args.skip_latency:
            return {"floor": floor_report, "integrity": await integrity(stack.dsn, stack.stripe)}

        # Phase 1: POST latency at a moderate rate.
        log(f"phase 1: {len(post_ids)} bookings at {args.post_rate}/s on distinct listings")
        p1, span1, _ = await open_loop(booker, "post-latency", post_ids, args.post_rate, stay)
        p1_ids = [a.booking_id for a in p1 if a.booking_id]
        await wait_confirmed(stack.dsn, p1_ids, args.drain_timeout)
        phase1 = phase_summary(p1, span1) | confirm_latencies(p1, await booking_rows(stack.dsn, p1_ids))
        log(f"  POST p50/p95/p99 {phase1['post_ms']['p50']}/{phase1['post_ms']['p95']}/{phase1['post_ms']['p99']} ms,"
            f" codes {phase1['status_codes']}")  # fmt: skip

        # Phase 2 (+3): sustained open loop, contention rounds spread over it.
        meter = CpuMeter(stack.processes())
        rounds = args.contention_rounds
        side = [
            (args.duration * (r + 1) / (rounds + 1),
             (lambda r=r: contention_round(booker, contended, stay + dt.timedelta(days=7 * r), args.contention, r)))
            for r in range(rounds)
        ]  # fmt: skip
        log(f"phase 2: {n_sustained} bookings at {args.rate}/s for {args.duration} s on distinct listings (open loop),"
            f" every {args.api_poll_every}th polled through the API; phase 3: {rounds} rounds of {args.contention}"
            f" concurrent bookings of one listing during it")  # fmt: skip
        metrics_before = scrape(stack.metrics)
        cpu_before = meter.sample()
        wall = time.perf_counter()
        p2, span2, contention = await open_loop(booker, "sustained", sustained_ids, args.rate, stay,
                                                poll_every=args.api_poll_every, side_jobs=side)  # fmt: skip
        p2_ids = [a.booking_id for a in p2 if a.booking_id]
        run_end = max(a.sent_wall + a.post_ms / 1000 for a in p2)  # the last POST answered
        log(f"  sent {len(p2)} in {span2:.1f} s; last POST answered {run_end - p2[0].sent_wall:.1f} s after the first")
        await asyncio.sleep(max(0.0, run_end + SETTLE_SECONDS - time.time()))
        cpu_after = meter.sample()
        metrics_after = scrape(stack.metrics)
        cpu_wall = time.perf_counter() - wall
        at_settle = await booking_rows(stack.dsn, p2_ids)
        late = sum(
            1
            for i in p2_ids
            if at_settle.get(i) is None
            or at_settle[i]["confirmed_at"] is None
            or at_settle[i]["confirmed_at"].timestamp() > run_end + SETTLE_SECONDS
        )
        log(f"  {late} of {len(p2_ids)} not confirmed {SETTLE_SECONDS:.0f} s after the last POST; draining (at most"
            f" {args.drain_timeout:.0f} s) ...")  # fmt: skip
        settled = await wait_confirmed(stack.dsn, p2_ids, args.drain_timeout)
        log(f"  after draining: {settled}")
        rows = await booking_rows(stack.dsn, p2_ids)
        confirmed_times = [r["confirmed_at"].timestamp() for r in rows.values() if r["confirmed_at"] is not None]
        phase2 = phase_summary(p2, span2) | confirm_latencies(p2, rows)
        phase2["not_confirmed_10s_after_run"] = late
        phase2["statuses_after_drain"] = settled
        phase2["last_confirmed_s_after_run"] = round(max(confirmed_times) - run_end, 1) if confirmed_times else None
        phase2["confirmed_per_s_while_sending"] = round(
            sum(1 for c in confirmed_times if p2[0].sent_wall <= c <= p2[0].sent_wall + span2) / max(span2, 1e-9), 2
        )
        phase2["cpu_percent_of_one_core"] = {
            k: round(100 * (cpu_after[k] - cpu_before.get(k, 0.0)) / cpu_wall, 1) for k in cpu_after
        }
        phase2["cpu_window_s"] = round(cpu_wall, 1)
        phase2["worker_latencies"] = latency_table(metrics_before, metrics_after)
        winners = [(w, r) for r in contention for w in r["winners"]]
        await wait_confirmed(stack.dsn, [w for w, _ in winners], 20)
        winner_rows = await booking_rows(stack.dsn, [w for w, _ in winners])
        for r in contention:
            r["winner_status"] = [winner_rows[w]["status"] if w in winner_rows else "missing" for w in r["winners"]]

        step = max(1, len(p2) // 20)
        sample = [(a.booking_id, a.token) for i, a in enumerate(p2) if a.booking_id and i % step == 0]
        phase2["timeline_gaps"] = await timelines(client, sample)

    checks = await integrity(stack.dsn, stack.stripe)
    return {"floor": floor_report, "phase1": phase1, "phase2": phase2, "contention": contention, "integrity": checks}


def verdicts(report: dict[str, Any], args: argparse.Namespace) -> list[tuple[str, str, bool]]:
    ints = report["integrity"]
    out: list[tuple[str, str, bool]] = []
    fl = report.get("floor")
    if fl:
        real, bare = fl["best"]["stayflow"], fl["best"]["floor"]
        out.append(("confirmed bookings/s ≥ 0.8 of the floor's (both at saturation, same run)",
                    f"{fl['share']} ({real['confirmed_per_s']}/s of {bare['confirmed_per_s']}/s)",
                    fl["share"] >= 0.8))  # fmt: skip
        if fl["history_shapes"]:
            out.append(("the floor's runs take an instant booking's commands", str(fl["history_shapes"]["floor"]),
                        fl["history_shapes"]["same"]))  # fmt: skip
    if "phase1" in report:
        p1, p2 = report["phase1"], report["phase2"]
        contention = report["contention"]
        one_winner = all(
            r["status_codes"].get("201", 0) == 1 and r["status_codes"].get("409", 0) == r["requests"] - 1
            for r in contention
        )
        rtc = p2["request_to_confirmed_ms"]["p95"]
        out += [
            ("POST /api/v1/bookings p95 ≤ 50 ms (phase 1)", f"{p1['post_ms']['p95']} ms",
             (p1["post_ms"]["p95"] or 1e9) <= 50),
            ("POST p95 ≤ 50 ms under the sustained load (phase 2)", f"{p2['post_ms']['p95']} ms",
             (p2["post_ms"]["p95"] or 1e9) <= 50),
            (f"{args.rate}/s for {args.duration} s, all 201",
             f"{p2['created_per_s']}/s created, codes {p2['status_codes']}",
             p2["created_per_s"] >= 0.97 * args.rate and p2["status_codes"].get("201", 0) == p2["requests"]),
            ("request → confirmed p95 ≤ 1 s (phase 2)", f"{rtc} ms", rtc is not None and rtc <= 1000),
            ("not confirmed 10 s after the run = 0", str(p2["not_confirmed_10s_after_run"]),
             p2["not_confirmed_10s_after_run"] == 0),
            ("contention: exactly one 201 per round, the rest 409",
             "; ".join(f"{r['status_codes']}" for r in contention), one_winner),
        ]  # fmt: skip
    out += [
        ("double bookings (overlapping live bookings) = 0", str(ints["overlapping_live_bookings"]),
         ints["overlapping_live_bookings"] == 0),
        ("double captures = 0 (ledger rows, completed payments, fake Stripe intents)",
         f"{ints['bookings_with_more_than_one_capture_row']} · {ints['bookings_with_more_than_one_completed_payment']}"
         f" · {ints['fake_stripe']['checked'] - ints['fake_stripe']['succeeded_for_amount']}",
         ints["bookings_with_more_than_one_capture_row"] == 0
         and ints["bookings_with_more_than_one_completed_payment"] == 0
         and ints["fake_stripe"]["checked"] == ints["fake_stripe"]["succeeded_for_amount"]),
    ]  # fmt: skip
    return out


def floor_markdown(fl: dict[str, Any]) -> list[str]:
    real, bare = fl["best"]["stayflow"], fl["best"]["floor"]
    roles = [k for k in real["cpu_percent_of_one_core"] if k != "fake_stripe"] + ["fake_stripe"]
    same = {"worker": "floor_worker", "api": "floor_api"}

    def used(side: dict[str, Any], role: str, field: str) -> float:
        """A side's own worker and API (the other side's idle ones are not counted for it)."""
        v = side[field]
        if side is bare and role in same:
            return float(v.get(same[role], 0.0))
        return float(v.get(role, 0.0))

    shown = [r for r in roles if r not in ("floor_worker", "floor_api")]
    total = {id(side): sum(used(side, r, "core_ms_per_booking") for r in shown) for side in (real, bare)}
    lines = [
        f"**Share of the floor: {fl['share']}** — Stayflow confirmed {real['confirmed_per_s']} bookings/s, the floor"
        f" (`bench/booking_floor.py`: the same commands, every step doing nothing) {bare['confirmed_per_s']}/s, best"
        f" of {len(fl['rounds']) // 2} alternating closed-loop rounds each ({real['concurrency']} in flight,"
        f" {real['window_s']} s counted).",
        "",
        "| round | side | confirmed/s | POST p50 · p95 ms | codes |",
        "| ---: | --- | ---: | ---: | --- |",
        *(f"| {x['round']} | {x['side']} | {x['confirmed_per_s']} | {x['post_ms']['p50']} · {x['post_ms']['p95']} |"
          f" {x['status_codes']} |" for x in fl["rounds"]),
        "",
        "| process (best rounds) | Stayflow % of a core | floor % of a core | Stayflow core-ms/booking |"
        " floor core-ms/booking |",
        "| --- | ---: | ---: | ---: | ---: |",
        *(f"| {r} | {used(real, r, 'cpu_percent_of_one_core')} | {used(bare, r, 'cpu_percent_of_one_core')} |"
          f" {used(real, r, 'core_ms_per_booking')} | {used(bare, r, 'core_ms_per_booking')} |" for r in shown),
        f"| **all** | | | **{round(total[id(real)], 1)}** | **{round(total[id(bare)], 1)}** |",
        "",
    ]  # fmt: skip
    if fl["history_shapes"]:
        shapes = fl["history_shapes"]
        lines += [f"history of an instant booking: {shapes['stayflow']}; of a floor run: {shapes['floor']};"
                  f" same event sequence: {shapes['same']}", ""]  # fmt: skip
    return lines


def markdown(report: dict[str, Any], args: argparse.Namespace) -> str:
    head = [
        f"### Bookings against `stayflow dev` ({report['machine']})",
        "",
        "| target | measured | met |",
        "| --- | --- | --- |",
        *(f"| {name} | {value} | {'yes' if ok else '**NO**'} |" for name, value, ok in report["verdicts"]),
        "",
        *(floor_markdown(report["floor"]) if report.get("floor") else []),
    ]
    if "phase1" not in report:
        return "\n".join([*head, f"integrity: {json.dumps(report['integrity'].get('totals', {}))}"]) + "\n"
    p1, p2 = report["phase1"], report["phase2"]

    def row(name: str, s: dict[str, Any]) -> str:
        return f"| {name} | {s['n']} | {s['p50']} | {s['p95']} | {s['p99']} | {s['max']} |"

    lines = [
        *head,
        "| latency (ms) | n | p50 | p95 | p99 | max |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        row(f"phase 1: POST, {p1['requests']} at {args.post_rate}/s", p1["post_ms"]),
        row("phase 1: request → confirmed (confirmed_at minus send)", p1["request_to_confirmed_ms"]),
        row(f"phase 2: POST at {args.rate}/s", p2["post_ms"]),
        row("phase 2: request → confirmed (confirmed_at minus send)", p2["request_to_confirmed_ms"]),
        row("phase 2: confirmed_at minus created_at (DB only)", p2["created_to_confirmed_ms"]),
        row(f"phase 2: request → `confirmed` seen by GET (1 in {args.api_poll_every}, 50 ms polls)",
            p2["api_polled_request_to_confirmed_ms"]),
        row("phase 2: load generator send lag", p2["send_lag_ms"]),
        *(row(f"phase 3 round {r['round']}: POST, {r['requests']} at once on one listing", r["post_ms"])
          for r in report["contention"]),
        "",
        f"phase 2: offered {p2['offered_rate_per_s']}/s over {p2['send_span_s']} s, created {p2['created_per_s']}/s,"
        f" codes {p2['status_codes']}, statuses {p2['statuses']}, not confirmed 10 s after: "
        f"{p2['not_confirmed_10s_after_run']}; confirmed/s while sending {p2['confirmed_per_s_while_sending']};"
        f" after draining: {p2['statuses_after_drain']}, the last confirmed {p2['last_confirmed_s_after_run']} s"
        " after the last POST",
        "",
        "CPU during phase 2 (% of one core; the machine has "
        f"{psutil.cpu_count()}): " + ", ".join(f"{k} {v}" for k, v in p2["cpu_percent_of_one_core"].items()),
        "",
        "| worker metric (phase 2 window) | type | count | mean ms | p95 ms (bucket ≤) |",
        "| --- | --- | ---: | ---: | ---: |",
        *(f"| {m['metric']} | {m['type']} | {m['count']} | {m['mean_ms']} | {m['p95_ms_le']} |"
          for m in p2["worker_latencies"]),
        "",
        "| workflow step gap (timeline, sample) | n | p50 ms | p95 ms |",
        "| --- | ---: | ---: | ---: |",
        *(f"| {k} | {v['n']} | {v['p50_ms']} | {v['p95_ms']} |" for k, v in p2["timeline_gaps"].items()),
        "",
        f"integrity: {json.dumps({k: v for k, v in report['integrity'].items() if k != 'overlap_examples'})}",
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
        return rev.strip() + (" (dirty tree)" if dirty.strip() else "")
    except OSError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=20, help="phase 2 bookings per second")
    parser.add_argument("--duration", type=float, default=60, help="phase 2 seconds")
    parser.add_argument("--post-requests", type=int, default=200, help="phase 1 bookings")
    parser.add_argument("--post-rate", type=float, default=10, help="phase 1 bookings per second")
    parser.add_argument("--warmup", type=int, default=20, help="bookings before phase 1, not counted")
    parser.add_argument("--guests", type=int, default=100, help="guests registered through the API")
    parser.add_argument("--hosts", type=int, default=50, help="hosts seeded into PostgreSQL")
    parser.add_argument("--contention", type=int, default=50, help="concurrent requests per contention round")
    parser.add_argument("--contention-rounds", type=int, default=3, help="rounds, spread over phase 2")
    parser.add_argument("--drain-timeout", type=float, default=120, help="seconds to wait for a phase to confirm")
    parser.add_argument("--api-poll-every", type=int, default=10,
                        help="poll every n-th phase 2 booking through GET (0: none)")  # fmt: skip
    parser.add_argument(
        "--saturation-rounds",
        type=int,
        default=2,
        help="closed-loop rounds of Stayflow and of the floor each, alternating (0: no floor)",
    )
    parser.add_argument("--saturation-seconds", type=float, default=20, help="seconds counted per round")
    parser.add_argument("--saturation-warmup", type=float, default=4, help="seconds per round before counting")
    parser.add_argument(
        "--saturation-max-rate",
        type=float,
        default=40,
        help="bookings/s at most expected at saturation (sizes the listings seeded for it)",
    )
    parser.add_argument("--concurrency", type=int, default=12, help="bookings in flight at saturation")
    parser.add_argument("--py-spy", action="store_true",
                        help="py-spy each side's worker over its counted windows (bench/results/py-spy-*.txt,"
                             " collapsed stacks; needs `pip install py-spy` in the venv)")  # fmt: skip
    parser.add_argument("--skip-latency", action="store_true",
                        help="only the share of the floor (no phases 1-3)")  # fmt: skip
    args = parser.parse_args()

    started = time.perf_counter()
    home = Path(tempfile.mkdtemp(prefix="stayflow-bench-booking-"))
    stack = DevStack(home / "stack", max_unconfirmed=100_000)
    floor = Floor(home, stack.temporal)
    report: dict[str, Any] = {}
    try:
        log(f"starting stayflow dev in {stack.home} (API {stack.api}) ...")
        t = time.perf_counter()
        stack.start()
        log(f"ready in {time.perf_counter() - t:.1f} s")
        if args.saturation_rounds > 0:
            t = time.perf_counter()
            floor.start()
            log(f"the floor (bench/booking_floor.py: worker and API) ready in {time.perf_counter() - t:.1f} s")
        report = asyncio.run(run(stack, floor, args))
        stripe_log = stack.home / "logs" / "stripe.log"
        report["fake_stripe_log_bytes"] = stripe_log.stat().st_size if stripe_log.exists() else None
    except BaseException:
        log(f"--- stayflow dev output (tail) ---\n{stack.tail()}")
        log(f"--- floor worker (tail) ---\n{floor.tail('floor-worker')}\n--- floor API ---\n{floor.tail('floor-api')}")
        raise
    finally:
        log("stopping the floor and stayflow dev ...")
        floor.stop()
        stack.stop()
        shutil.rmtree(home, ignore_errors=True)

    report["machine"] = (
        f"{psutil.cpu_count()} CPUs, {round(psutil.virtual_memory().total / 2**30)} GiB, rev {git_revision()}"
    )
    report["args"] = vars(args)
    report["verdicts"] = verdicts(report, args)
    report["total_s"] = round(time.perf_counter() - started, 1)
    md = markdown(report, args)
    report["markdown"] = md
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "booking.json").write_text(json.dumps(report, indent=2, default=str))
    (RESULTS / "booking.md").write_text(md)
    log("")
    log(md)
    log(f"results: {RESULTS / 'booking.json'}, {RESULTS / 'booking.md'}; total {report['total_s']} s")


if __name__ == "__main__":
    main()
