"""`stayflow seed-demo`: a realistic marketplace on a running stack (`make dev`), in under a minute.

Hosts, guests and an admin with known passwords; a few hundred published listings across a dozen
real cities with drawn photos, calendars (blocked nights, price overrides) and every cancellation
policy; bookings in every status made through the booking service, so each one is a real
BookingWorkflow run on the stack's worker (instant-book, request-to-book accepted and declined, a
declined card, one waiting for 3-D Secure, cancellations); recent past stays with reviews written
through the review service; conversations; the notifications those processes send.

Past stays (completed, expired) cannot be made in real time: they are recorded as the booking
process leaves them (status, payment, ledger rows) — history from before the demo started.

Idempotent: every row has an id derived from its name (uuid5), bookings carry fixed idempotency
keys, and whatever exists already is left alone, so a second run adds nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import sys
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from models import Booking, CalendarBlock, LedgerEntry, Listing, ListingPhoto, Payment, PriceOverride, Review, User
from stayflow.credentials import hash_password
from stayflow.demo.photos import room_photo
from stayflow.demo.places import (
    ADJECTIVES,
    AMENITY_SETS,
    CITIES,
    GUEST_NAMES,
    HOST_NAMES,
    NEAR,
    NOUNS,
    POLICIES,
    PROPERTY_TYPES,
)
from stayflow.images import check_image
from stayflow.rules.booking_status import BookingStatus, PaymentStatus
from stayflow.rules.cities import city_key
from stayflow.rules.pricing import quote_json, quote_stay
from stayflow.rules.reviews import CATEGORIES
from stayflow.rules.roles import Role
from stayflow.settings import Settings
from stayflow.storage import media_storage_for

DEMO_PASSWORD = "stayflow demo password"
DEMO_DOMAIN = "demo.example.com"
ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"
HOST_EMAIL = f"host@{DEMO_DOMAIN}"
GUEST_EMAIL = f"guest@{DEMO_DOMAIN}"
DEMO_PHONES = {HOST_EMAIL: "+14155550101", GUEST_EMAIL: "+14155550102"}
LISTINGS_PER_CITY = 25
PHOTOS_PER_LISTING = 2
DISTINCT_PHOTOS = 36
"""Drawn once each; listings share them (each listing still stores its own files)."""
NAMESPACE = uuid.UUID("5f0c2a1e-8d4b-4c55-9a36-51a7f10de111")
BLOCKED_FROM, BLOCKED_NIGHTS = 60, 4
"""Days from today: every listing's host closed a few nights then (bookings are made before it)."""
OVERRIDE_FROM, OVERRIDE_NIGHTS = 90, 7


class RefusedError(Exception):
    """The demo data set is not for this stack (production), or the stack is not running."""


def demo_id(*parts: object) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts))


class Progress:
    """A one-line progress bar on a terminal (one line per step elsewhere)."""

    def __init__(self, total: int, out: TextIO = sys.stderr, width: int = 30) -> None:
        self.total, self.done, self.out, self.width = total, 0, out, width
        self.tty = out.isatty()
        self.label = ""

    def step(self, label: str, amount: int = 1) -> None:
        self.done = min(self.total, self.done + amount)
        changed, self.label = label != self.label, label
        filled = round(self.width * self.done / self.total)
        bar = f"[{'#' * filled}{'.' * (self.width - filled)}] {100 * self.done // self.total:3d}% {label}"
        if self.tty:
            self.out.write("\r" + bar.ljust(self.width + 60))
            self.out.flush()
        elif changed or self.done == self.total:
            print(bar, file=self.out, flush=True)

    def finish(self) -> None:
        if self.tty:
            self.out.write("\n")
            self.out.flush()


@dataclass
class Summary:
    users: int = 0
    listings: int = 0
    photos: int = 0
    bookings: int = 0
    past_stays: int = 0
    reviews: int = 0
    conversations: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass(frozen=True)
class Scenario:
    """One booking the demo makes through the booking service, and what then happens to it."""

    name: str
    guest: int
    city: int
    instant: bool
    start: int
    nights: int
    payment_method: str = "pm_card_visa"
    then: str = ""
    """"" (leave it), "accept", "decline", "cancel_by_guest", "cancel_by_host"."""
    message: str = ""


ASKS = ("Is there a cot for a toddler?", "Where can we park the car?", "Could we drop our bags early?", "Thanks!")

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("guest-confirmed", 0, 1, True, 14, 4, message="Hi! Is there a good bakery nearby?"),
    Scenario("guest-awaiting", 0, 0, False, 21, 3, message="We'd love to stay, we are two quiet travellers."),
    Scenario("guest-cancelled", 0, 2, True, 30, 2, then="cancel_by_guest"),
    Scenario("accepted", 1, 0, False, 16, 5, then="accept", message="Can we check in at 13:00?"),
    Scenario("declined", 2, 0, False, 24, 2, then="decline"),
    Scenario("card-declined", 3, 3, True, 18, 3, payment_method="pm_card_chargeDeclined"),
    Scenario("needs-3ds", 4, 4, True, 20, 2, payment_method="pm_card_authenticationRequired"),
    Scenario("host-cancelled", 5, 5, True, 26, 3, then="cancel_by_host"),
    Scenario("awaiting-2", 6, 0, False, 35, 4),
    *(
        Scenario(f"confirmed-{i}", 7 + i, 1 + i, True, 40 + i, 2 + i % 4, message=ASKS[i // 3] if i % 3 == 0 else "")
        for i in range(10)
    ),
)
"""City 0's listings are the main host's; every listing index used here is 0 (instant) or 1 (request)."""

PAST_REVIEWS = (
    (5, "Spotless, exactly like the photos, and the host's tips were gold."),
    (4, "Great location and a comfortable bed; the street gets a bit loud at night."),
    (5, "We felt at home from the first minute. Would book again."),
    (3, "Fine for a short stay, the wifi was patchy."),
    (5, "Lovely light in the mornings and a very kind host."),
)
HOST_REVIEWS = ("A considerate guest who left everything tidy.", "Easy to communicate with, welcome back any time.")


def _listing_rows(hosts: Sequence[User], today: dt.date) -> list[dict[str, Any]]:
    rows = []
    for c, city in enumerate(CITIES):
        for n in range(LISTINGS_PER_CITY):
            rng = random.Random(c * 1000 + n)  # noqa: S311 (demo data, not a secret)
            kind = PROPERTY_TYPES[n % len(PROPERTY_TYPES)] if n > 1 else "apartment"
            bedrooms = 0 if kind == "room" else rng.randint(1, 4 if kind in ("house", "villa") else 2)
            # Listing 0 of each city books instantly, listing 1 waits for the host (the scenarios rely on it).
            instant = n == 0 or (n != 1 and rng.random() < 0.6)
            host = hosts[c] if n % 3 else hosts[(c + n) % len(hosts)]
            title = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS[kind])} {rng.choice(NEAR)}"
            rows.append(
                {
                    "id": demo_id("listing", city.name, n),
                    "host": host.id,
                    "title": title[:120],
                    "description": (
                        f"A {kind} in {city.name} for up to {2 + bedrooms * 2} guests: "
                        f"{title.lower()}, with {rng.choice(('a balcony', 'a small garden', 'big windows', 'a view'))}."
                    ),
                    "property_type": kind,
                    "address_line": f"{rng.choice(city.streets)} {rng.randint(1, 250)}",
                    "city": city.name,
                    "country": city.country,
                    "latitude": round(city.latitude + rng.uniform(-0.04, 0.04), 5),
                    "longitude": round(city.longitude + rng.uniform(-0.05, 0.05), 5),
                    "max_guests": 2 + bedrooms * 2,
                    "bedrooms": bedrooms,
                    "beds": max(1, bedrooms),
                    "bathrooms": 1.0 if bedrooms < 3 else 2.0,
                    "amenities": list(AMENITY_SETS[n % len(AMENITY_SETS)]),
                    "nightly_price": int(city.nightly * rng.uniform(0.6, 1.8)) // 100 * 100,
                    "cleaning_fee": city.nightly // 4 // 100 * 100,
                    "currency": city.currency,
                    "min_nights": 1 if n < 2 else rng.choice((1, 1, 2, 3)),
                    "max_nights": 30,
                    "instant_book": instant,
                    "cancellation_policy": POLICIES[n % len(POLICIES)],
                }
            )
    return rows


class DemoSeeder:
    def __init__(self, settings: Settings, progress: Progress, *, wait_seconds: float = 60.0) -> None:
        self.settings = settings
        self.progress = progress
        self.wait_seconds = wait_seconds
        self.summary = Summary()
        self.today = dt.datetime.now(dt.UTC).date()
        self.storage = media_storage_for(settings)
        self._gateway: Any = None

    # -- people -----------------------------------------------------------------------------

    async def users(self) -> tuple[User, list[User], list[User]]:
        wanted = [(ADMIN_EMAIL, "Demo Admin", Role.admin)]
        wanted += [
            (HOST_EMAIL if i == 0 else f"host{i + 1}@{DEMO_DOMAIN}", name, Role.host)
            for i, name in enumerate(HOST_NAMES)
        ]
        wanted += [
            (GUEST_EMAIL if i == 0 else f"guest{i + 1}@{DEMO_DOMAIN}", name, Role.guest)
            for i, name in enumerate(GUEST_NAMES)
        ]
        existing = {u.email: u for u in await User.objects().where(User.email.is_in([w[0] for w in wanted]))}
        missing = [w for w in wanted if w[0] not in existing]
        if missing:
            password_hash = await asyncio.to_thread(hash_password, DEMO_PASSWORD)  # one hash: Argon2 is slow
            verified = dt.datetime.now(dt.UTC)  # demo addresses cannot receive mail: they count as confirmed
            rows = [
                User(
                    email=e,
                    password_hash=password_hash,
                    full_name=n,
                    role=r,
                    email_verified_at=verified,
                    # The two main accounts have fictional phones (555-01xx), verified, so their SMS
                    # show in the dev outbox; SMS go only to verified numbers.
                    phone=DEMO_PHONES.get(e),
                    phone_verified_at=verified if e in DEMO_PHONES else None,
                )
                for e, n, r in missing
            ]
            await User.insert(*rows)
            self.summary.users = len(rows)
            existing |= {u.email: u for u in await User.objects().where(User.email.is_in([m[0] for m in missing]))}
        users = [existing[w[0]] for w in wanted]
        self.progress.step("users", 2)
        return users[0], users[1 : 1 + len(HOST_NAMES)], users[1 + len(HOST_NAMES) :]

    # -- listings, photos, calendars ----------------------------------------------------------

    async def listings(self, hosts: list[User]) -> list[dict[str, Any]]:
        rows = _listing_rows(hosts, self.today)
        have = {r["id"] for r in await Listing.select(Listing.id).where(Listing.id.is_in([r["id"] for r in rows]))}
        new = [r for r in rows if r["id"] not in have]
        now = dt.datetime.now(dt.UTC)
        photos = [check_image(room_photo(seed)) for seed in range(DISTINCT_PHOTOS)]
        self.progress.step("photos drawn", 3)
        for chunk_start in range(0, len(new), 50):
            chunk = new[chunk_start : chunk_start + 50]
            photo_rows, block_rows, override_rows = [], [], []
            for r in chunk:
                for k in range(PHOTOS_PER_LISTING):
                    image = photos[(hash(r["id"]) + k) % DISTINCT_PHOTOS]
                    key = f"listings/{r['id']}/demo-{k}.{image.extension}"
                    await self.storage.save(key, image.data, image.content_type)
                    photo_rows.append(
                        ListingPhoto(
                            id=demo_id("photo", r["id"], k),
                            listing=r["id"],
                            storage_key=key,
                            content_type=image.content_type,
                            width=image.width,
                            height=image.height,
                            size_bytes=len(image.data),
                            caption=("Living room", "Bedroom")[k % 2],
                            position=k,
                        )
                    )
                start = self.today + dt.timedelta(days=BLOCKED_FROM)
                block_rows.append(
                    CalendarBlock(
                        id=demo_id("block", r["id"]),
                        listing=r["id"],
                        start_date=start,
                        end_date=start + dt.timedelta(days=BLOCKED_NIGHTS),
                    )
                )
                summer = self.today + dt.timedelta(days=OVERRIDE_FROM)
                override_rows.append(
                    PriceOverride(
                        id=demo_id("override", r["id"]),
                        listing=r["id"],
                        start_date=summer,
                        end_date=summer + dt.timedelta(days=OVERRIDE_NIGHTS),
                        nightly_price=r["nightly_price"] * 5 // 4 // 100 * 100,
                    )
                )
            async with Listing._meta.db.transaction():
                await Listing.insert(
                    *[Listing(**r, city_key=city_key(r["city"]), status="published", published_at=now) for r in chunk]
                )
                await ListingPhoto.insert(*photo_rows)
                await CalendarBlock.insert(*block_rows)
                await PriceOverride.insert(*override_rows)
            self.summary.listings += len(chunk)
            self.summary.photos += len(photo_rows)
            self.progress.step(f"listings {chunk_start + len(chunk)}/{len(new)}", 5)
        if not new:
            self.progress.step("listings (already there)", 5 * -(-len(rows) // 50))
        return rows

    # -- bookings through the booking service -------------------------------------------------

    async def temporal(self) -> Any:
        if self._gateway is None:
            from stayflow.temporal import TemporalGateway

            self._gateway = TemporalGateway(self.settings)
            try:
                await self._gateway.check()
            except Exception as exc:
                raise RefusedError(
                    f"Temporal does not answer at {self.settings.temporal_target}: start the stack first (`make dev`)."
                ) from exc
        return self._gateway

    async def bookings(self, hosts: list[User], guests: list[User], listings: list[dict[str, Any]]) -> list[Booking]:
        from api.bookings.schemas import BookingCreate
        from api.bookings.service import create_booking

        temporal = await self.temporal()
        by_id = {r["id"]: r for r in listings}

        async def one(s: Scenario) -> Booking:
            guest = guests[s.guest]
            key = f"demo-{s.name}"
            earlier = (
                await Booking.objects().where((Booking.guest == guest.id) & (Booking.idempotency_key == key)).first()
            )
            if earlier is not None:
                self.progress.step("bookings (already there)", 2)
                return earlier
            listing = by_id[demo_id("listing", CITIES[s.city].name, 0 if s.instant else 1)]
            check_in = self.today + dt.timedelta(days=s.start)
            body = BookingCreate(
                listing_id=listing["id"],
                check_in=check_in,
                check_out=check_in + dt.timedelta(days=s.nights),
                guests=2,
                payment_method=s.payment_method,
            )
            made = await create_booking(_caller(guest), body, key, self.settings, temporal)
            self.summary.bookings += 1
            settled = await self._settled(made.id, s)
            if s.then in ("accept", "decline") and settled.status == BookingStatus.awaiting_host:
                from api.bookings.service import decide_booking

                host = next(h for h in hosts if h.id == settled.host)
                await decide_booking(_caller(host), settled.id, s.then == "accept", temporal)
            elif s.then.startswith("cancel") and settled.status == BookingStatus.confirmed:
                from api.bookings.service import cancel_booking
                from stayflow.audit import Actor

                who = guest if s.then == "cancel_by_guest" else next(h for h in hosts if h.id == settled.host)
                reason = "Our plans changed." if who is guest else "The boiler broke; sorry!"
                await cancel_booking(
                    _caller(who), settled.id, reason, f"demo-cancel-{s.name}", temporal, actor=Actor(user_id=who.id)
                )
            self.progress.step(f"booking {s.name}", 2)
            fresh = await Booking.objects().get(Booking.id == settled.id)
            assert fresh is not None
            return fresh

        made = await asyncio.gather(*(one(s) for s in SCENARIOS))
        await self._conversations(hosts, guests, made)
        return made

    async def _settled(self, booking_id: uuid.UUID, s: Scenario) -> Booking:
        """Wait until the booking's workflow has taken it past its first step (the worker runs it)."""
        deadline = time.monotonic() + self.wait_seconds
        while True:
            booking = await Booking.objects().get(Booking.id == booking_id)
            assert booking is not None
            payment = await Payment.objects().where(Payment.booking == booking_id).first()
            waiting_3ds = payment is not None and payment.client_secret is not None
            if booking.status != BookingStatus.pending_payment or waiting_3ds:
                return booking
            if time.monotonic() > deadline:
                raise RefusedError(
                    f"booking {s.name} is still {booking.status} after {self.wait_seconds:.0f} s: "
                    "is a worker running (`make dev`)?"
                )
            await asyncio.sleep(0.25)

    async def _conversations(self, hosts: list[User], guests: list[User], made: Sequence[Booking]) -> None:
        from api.conversations.service import post_message, start_conversation

        temporal = await self.temporal()
        for s, booking in zip(SCENARIOS, made, strict=True):
            if not s.message:
                continue
            guest = guests[s.guest]
            host = next(h for h in hosts if h.id == booking.host)
            conversation, started = await start_conversation(
                _caller(guest),
                s.message,
                listing_id=None,
                booking_id=booking.id,
                temporal=temporal,
                settings=self.settings,
            )
            if started:
                await post_message(conversation.id, _caller(host), "Of course, see you soon!", temporal, self.settings)
                self.summary.conversations += 1
        self.progress.step("conversations", 2)

    # -- past stays and their reviews ----------------------------------------------------------

    async def past_stays(self, hosts: list[User], guests: list[User], listings: list[dict[str, Any]]) -> None:
        """Stays that ended in the last days (completed, with reviews) and requests that lapsed
        (expired), recorded as their processes left them."""
        from api.calendar.service import current_fees

        fees = await current_fees()
        planned: list[tuple[uuid.UUID, User, dict[str, Any], dt.date, dt.date, BookingStatus]] = []
        for i in range(24):
            guest = guests[i % len(guests)]
            listing = listings[(i * 7 + 2) % len(listings)]
            check_out = self.today - dt.timedelta(days=1 + i % 9)
            check_in = check_out - dt.timedelta(days=2 + i % 3)
            status = BookingStatus.expired if i % 8 == 7 else BookingStatus.completed
            planned.append((demo_id("past", i), guest, listing, check_in, check_out, status))
        planned.append(
            (
                demo_id("past", "main"),
                guests[0],
                listings[3],
                self.today - dt.timedelta(days=6),
                self.today - dt.timedelta(days=2),
                BookingStatus.completed,
            )
        )
        have = {r["id"] for r in await Booking.select(Booking.id).where(Booking.id.is_in([p[0] for p in planned]))}
        for n, (booking_id, guest, listing, check_in, check_out, status) in enumerate(planned):
            if booking_id in have:
                await self._reviews(n, booking_id, guest, listing, status, hosts)
                self.progress.step("past stays and reviews", 1)
                continue
            quote = quote_stay(
                check_in=check_in,
                check_out=check_out,
                base_price=listing["nightly_price"],
                cleaning_fee=listing["cleaning_fee"],
                currency=listing["currency"],
                overrides=[],
                fees=fees,
            )
            finished = dt.datetime.combine(check_out, dt.time(11), dt.UTC)
            completed = status == BookingStatus.completed
            booking = Booking(
                id=booking_id,
                listing=listing["id"],
                guest=guest.id,
                host=listing["host"],
                check_in=check_in,
                check_out=check_out,
                guests=2,
                status=status,
                status_reason=None if completed else "The host did not answer in time.",
                price=quote_json(quote),
                total=quote.total,
                currency=quote.currency,
                payment_method="pm_card_visa",
                idempotency_key=f"demo-past-{n}",
                created_at=finished - dt.timedelta(days=30),
                confirmed_at=finished - dt.timedelta(days=29) if completed else None,
                completed_at=finished if completed else None,
                review_window_days=14,
            )
            payment = Payment(
                id=demo_id("payment", booking_id),
                booking=booking_id,
                amount=quote.total,
                currency=quote.currency,
                intent_id=f"pi_demo_{booking_id.hex[:20]}",
                status=PaymentStatus.completed if completed else PaymentStatus.voided,
            )
            moves = ["authorization", "capture"] if completed else ["authorization", "void"]
            async with Booking._meta.db.transaction():
                await booking.save()
                await payment.save()
                await LedgerEntry.insert(
                    *[
                        LedgerEntry(
                            id=demo_id("ledger", booking_id, kind),
                            payment=payment.id,
                            booking=booking_id,
                            guest=guest.id,
                            kind=kind,
                            amount=quote.total,
                            currency=quote.currency,
                            provider_ref=payment.intent_id,
                            dedupe_key=f"{payment.id}:{kind}",
                        )
                        for kind in moves
                    ]
                )
            self.summary.past_stays += 1
            await self._reviews(n, booking_id, guest, listing, status, hosts)
            self.progress.step("past stays and reviews", 1)

    async def _reviews(
        self, n: int, booking_id: uuid.UUID, guest: User, listing: dict[str, Any], status: str, hosts: list[User]
    ) -> None:
        """Most stays are reviewed by both sides, some by the guest only, a few not yet (the guest may)."""
        from api.reviews.service import write_review

        if status != BookingStatus.completed or n % 3 == 2 or booking_id == demo_id("past", "main"):
            return  # the main demo guest's last stay is theirs to review
        temporal = await self.temporal()
        written = {r["author"] for r in await Review.select(Review.author).where(Review.booking == booking_id)}
        rating, comment = PAST_REVIEWS[n % len(PAST_REVIEWS)]
        authors: list[tuple[User, int, str, dict[str, int] | None]] = [
            (guest, rating, comment, dict.fromkeys(CATEGORIES, rating))
        ]
        if n % 2 == 0:
            host = next(h for h in hosts if h.id == listing["host"])
            authors.append((host, 5, HOST_REVIEWS[n % 4 // 2], None))
        for author, stars, text, categories in authors:
            if author.id in written:
                continue
            await write_review(
                booking_id,
                _caller(author),
                rating=stars,
                comment=text,
                categories=categories,
                temporal=temporal,
                settings=self.settings,
            )
            self.summary.reviews += 1


def _caller(user: User) -> Any:
    """The signed-in user a service expects, for a demo account acting through it."""
    from api.security import CurrentUser

    now = dt.datetime.now(dt.UTC)
    return CurrentUser(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=Role(user.role),
        session_id=uuid.uuid4(),
        jti=uuid.uuid4(),
        token_expires_at=now + dt.timedelta(minutes=15),
    )


STEPS = 2 + 3 + 5 * -(-len(CITIES) * LISTINGS_PER_CITY // 50) + 2 * len(SCENARIOS) + 2 + 25


async def seed_demo(settings: Settings, out: TextIO = sys.stderr, *, wait_seconds: float = 60.0) -> Summary:
    """Fill the stack's marketplace (see the module docstring); refuses production."""
    if settings.env == "production":
        raise RefusedError("seed-demo refuses to run in production (STAYFLOW_ENV=production): it adds demo accounts.")
    from piccolo_conf import DB

    started = time.monotonic()
    progress = Progress(STEPS, out)
    await DB.start_connection_pool(min_size=1, max_size=10)
    try:
        seeder = DemoSeeder(settings, progress, wait_seconds=wait_seconds)
        await seeder.temporal()  # before writing anything: the bookings need the running stack
        _admin, hosts, guests = await seeder.users()
        listings = await seeder.listings(hosts)
        await seeder.bookings(hosts, guests, listings)
        await seeder.past_stays(hosts, guests, listings)
        progress.step("done", STEPS)
        progress.finish()
        rows = await Booking.raw(
            "SELECT status, count(*) AS n FROM bookings b JOIN users u ON u.id = b.guest "
            "WHERE u.email LIKE {} GROUP BY status ORDER BY status",
            f"%@{DEMO_DOMAIN}",
        )
        seeder.summary.statuses = {r["status"]: r["n"] for r in rows}
        seeder.summary.seconds = time.monotonic() - started
        return seeder.summary
    finally:
        await DB.close_connection_pool()


def signing_in(settings: Settings, summary: Summary) -> str:
    """What `stayflow seed-demo` prints at the end: who to sign in as, and three curl lines."""
    api = f"{settings.public_url.rstrip('/')}/api/v1"
    check_in = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=45)
    check_out = check_in + dt.timedelta(days=3)
    statuses = ", ".join(f"{n} {s}" for s, n in summary.statuses.items())
    return f"""
Demo marketplace ready in {summary.seconds:.1f} s (added now: {summary.users} users, {summary.listings} listings,
{summary.photos} photos, {summary.bookings} bookings, {summary.past_stays} past stays, {summary.reviews} reviews,
{summary.conversations} conversations). Demo bookings by status: {statuses or "none"}.

Sign in as (password for every demo account: {DEMO_PASSWORD!r}):
  guest  {GUEST_EMAIL}   bookings in several states, a past stay to review, a conversation
  host   {HOST_EMAIL}    listings in {CITIES[0].name}, a booking request waiting for an answer
  admin  {ADMIN_EMAIL}   the admin dashboard API
  more   host2..host{len(HOST_NAMES)}@{DEMO_DOMAIN}, guest2..guest{len(GUEST_NAMES)}@{DEMO_DOMAIN}

Try:
  curl -s "{api}/listings?city=Lisbon&check_in={check_in}&check_out={check_out}&guests=2"
  TOKEN=$(curl -s {api}/auth/login -H 'content-type: application/json' \\
    -d '{{"email":"{GUEST_EMAIL}","password":"{DEMO_PASSWORD}"}}' \\
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -s {api}/bookings -H "Authorization: Bearer $TOKEN"
"""


def run(settings: Settings, seed: Callable[..., Coroutine[Any, Any, Summary]] = seed_demo) -> int:
    try:
        summary = asyncio.run(seed(settings))
    except RefusedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(signing_in(settings, summary))
    return 0
