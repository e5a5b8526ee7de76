"""Test data: users created through the same code paths a real sign-up uses."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

from httpx import AsyncClient

from models import Booking, BookingChange, HostPayoutAccount, Listing, Payment, User
from stayflow.credentials import hash_password
from stayflow.rules.cities import city_key
from stayflow.rules.pricing import Fees, Night, Quote, nights_between, quote_json, quote_stay, stored_quote
from stayflow.rules.roles import Role
from stayflow.rules.terms import BookingTerms, terms_json

DEFAULT_FEES = Fees(service_fee_bps=1200, tax_bps=0)
"""The platform's fees as migrated (12% service fee, no tax)."""

PASSWORD = "correct horse battery"
_counter = itertools.count(1)
_HASH_CACHE: dict[str, str] = {}


def _hash(password: str) -> str:
    # Argon2 is slow on purpose; one hash per distinct test password keeps the suite quick.
    if password not in _HASH_CACHE:
        _HASH_CACHE[password] = hash_password(password)
    return _HASH_CACHE[password]


async def make_user(
    *,
    email: str | None = None,
    role: Role = Role.guest,
    password: str = PASSWORD,
    full_name: str = "Ada Lovelace",
    email_verified: bool = True,
) -> User:
    """An account whose owner verified the email address (unless `email_verified=False`)."""
    import datetime as dt

    user = User(
        email=email or f"user{next(_counter)}@example.com",
        password_hash=_hash(password),
        full_name=full_name,
        role=role,
        email_verified_at=dt.datetime.now(dt.UTC) if email_verified else None,
    )
    await user.save()
    return user


async def give_verified_phone(user: User, phone: str = "+14155552671") -> None:
    """The phone as if its owner had typed the texted code (`POST /users/me/phone/verify`)."""
    import datetime as dt

    await User.update({User.phone: phone, User.phone_verified_at: dt.datetime.now(dt.UTC)}).where(User.id == user.id)


@dataclass
class SignedIn:
    user: User
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def sign_in(client: AsyncClient, user: User, password: str = PASSWORD) -> SignedIn:
    response = await client.post("/api/v1/auth/login", json={"email": user.email, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    return SignedIn(user, body["access_token"], body["refresh_token"])


async def signed_in_user(client: AsyncClient, *, role: Role = Role.guest, **kwargs: Any) -> SignedIn:
    return await sign_in(client, await make_user(role=role, **kwargs))


LISTING_FIELDS: dict[str, Any] = {
    "title": "Sunny loft by the canal",
    "description": "A bright two-room loft five minutes from the old town, with a balcony over the canal.",
    "property_type": "apartment",
    "address_line": "Prinsengracht 263",
    "city": "Amsterdam",
    "country": "NL",
    "latitude": 52.3752,
    "longitude": 4.8840,
    "max_guests": 4,
    "bedrooms": 2,
    "beds": 2,
    "bathrooms": 1.5,
    "amenities": ["kitchen", "wifi"],
    "nightly_price": 12_000,
    "cleaning_fee": 4_000,
    "currency": "EUR",
    "min_nights": 1,
    "max_nights": 30,
    "instant_book": True,
    "cancellation_policy": "moderate",
}


async def make_listing(host: User | None = None, *, status: str = "published", **fields: Any) -> Listing:
    """A listing row as the API would store it (straight to the database: for tests of reading it)."""
    host = host or await make_user(role=Role.host)
    values = LISTING_FIELDS | fields
    listing = Listing(
        **values,
        host=host.id,
        city_key=city_key(values["city"]),
        status=status,
        published_at=dt.datetime.now(dt.UTC) if status == "published" else None,
    )
    await listing.save()
    return listing


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (640, 480), exif_gps: bool = False) -> bytes:
    """A real image of the given format, made with Pillow."""
    import io

    from PIL import Image

    image = Image.new("RGB", size, (200, 120, 40))
    out = io.BytesIO()
    if exif_gps:
        exif = Image.Exif()
        exif[0x8825] = {1: "N", 2: (52.0, 22.0, 30.0)}  # GPSInfo: latitude of the host's home
        image.save(out, fmt, exif=exif)
    else:
        image.save(out, fmt)
    return out.getvalue()


async def make_booking(
    listing: Listing,
    guest: User,
    *,
    check_in: dt.date,
    check_out: dt.date,
    guests: int = 2,
    payment_method: str = "pm_card_visa",
    fees: Fees = DEFAULT_FEES,
    quote: Quote | None = None,
) -> Booking:
    """A booking row as `POST /bookings` records it, before its workflow starts: priced by the
    real pricing function from the listing's prices (no overrides) and `fees`, unless a test of
    money gives the `quote` it needs."""
    quote = quote or quote_stay(
        check_in=check_in,
        check_out=check_out,
        base_price=listing.nightly_price,
        cleaning_fee=listing.cleaning_fee,
        currency=listing.currency,
        overrides=[],
        fees=fees,
    )
    booking = Booking(listing=listing.id, guest=guest.id, host=listing.host, check_in=check_in, check_out=check_out,
                      guests=guests, price=quote_json(quote), total=quote.total, currency=quote.currency,
                      payment_method=payment_method)  # fmt: skip
    await booking.save()
    await Payment(booking=booking.id, amount=quote.total, currency=quote.currency).save()
    return booking


async def make_change(
    booking: Booking, *, check_in: dt.date, check_out: dt.date, total: int, number: int = 1, **fields: Any
) -> BookingChange:
    """A change row as `PATCH /bookings/{id}` records it, before the workflow carries it out, costing
    `total` in all (one line for the stay: tests of the change's money choose the difference)."""
    nights = nights_between(check_in, check_out)
    price = quote_json(Quote(nights=len(nights), nightly=[Night(d, 0) for d in nights], subtotal=total, cleaning_fee=0,
                             service_fee=0, taxes=0, total=total, currency=booking.currency))  # fmt: skip
    change = BookingChange(booking=booking.id, number=number, status="requested", old_check_in=booking.check_in,
                           old_check_out=booking.check_out, old_guests=booking.guests, check_in=check_in,
                           check_out=check_out, guests=booking.guests, price=price, old_total=booking.total,
                           total=total, difference=total - booking.total, currency="EUR",
                           idempotency_key=f"change-{number}", request_hash="0" * 64)  # fmt: skip
    for name, value in fields.items():
        setattr(change, name, value)
    await change.save()
    return change


async def payable_booking(
    fake_stripe: Any,
    *,
    price: dict[str, Any],
    terms: BookingTerms,
    host: User | None = None,
    guest: User | None = None,
    days_ahead: int = 10,
    onboarded: bool = True,
    **listing_fields: Any,
) -> Booking:
    """A 3-night instant booking priced `price` with frozen `terms`, `days_ahead` days out, whose
    host has a connected account at the fake Stripe (able to be paid when `onboarded`)."""
    host = host or await make_user(role=Role.host)
    listing = await make_listing(host, instant_book=True, **listing_fields)
    guest = guest or await make_user()
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(
        listing, guest, check_in=today + dt.timedelta(days_ahead), check_out=today + dt.timedelta(days_ahead + 3),
        quote=stored_quote(price),
    )  # fmt: skip
    await Booking.update({Booking.price: price, Booking.terms: terms_json(terms)}).where(Booking.id == booking.id)
    status, account = fake_stripe.handle("POST", "/v1/accounts", {"type": "express"})
    assert status == 200
    if onboarded:
        fake_stripe.complete_onboarding(account["id"])
    await HostPayoutAccount(host=host.id, account_id=account["id"], payouts_enabled=onboarded).save()
    await booking.refresh()
    return booking
