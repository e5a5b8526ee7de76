"""Pricing a stay: the one implementation behind quotes, bookings and modifications.

Money is integer minor units. A night costs its override price if one covers it, else the
listing's base price. Service fee = service_fee_bps of the nights' subtotal; taxes = tax_bps
of nights + cleaning fee. Each line is rounded half-up to the minor unit once; the total is
the sum of the rounded lines.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PriceOverrideRange:
    start: dt.date
    end: dt.date
    """Exclusive."""
    nightly_price: int


@dataclass(frozen=True)
class Fees:
    service_fee_bps: int
    tax_bps: int


@dataclass(frozen=True)
class Night:
    date: dt.date
    price: int


@dataclass(frozen=True)
class Quote:
    nights: int
    nightly: list[Night]
    subtotal: int
    cleaning_fee: int
    service_fee: int
    taxes: int
    total: int
    currency: str


def stored_quote(stored: Mapping[str, Any] | str) -> Quote:
    """A quote as the database keeps it (a booking's or a change's `price` JSONB, which piccolo
    hands over as a dict or as its JSON text): the one reader of `quote_json`'s shape."""
    data = json.loads(stored) if isinstance(stored, str) else stored
    return Quote(
        nights=data["nights"],
        nightly=[Night(dt.date.fromisoformat(n["date"]), n["price"]) for n in data["nightly"]],
        subtotal=data["subtotal"],
        cleaning_fee=data["cleaning_fee"],
        service_fee=data["service_fee"],
        taxes=data["taxes"],
        total=data["total"],
        currency=data["currency"],
    )


def quote_json(quote: Quote) -> dict[str, Any]:
    """The quote as it is stored (and read back by `stored_quote`)."""
    return {
        "nights": quote.nights,
        "nightly": [{"date": n.date.isoformat(), "price": n.price} for n in quote.nightly],
        "subtotal": quote.subtotal,
        "cleaning_fee": quote.cleaning_fee,
        "service_fee": quote.service_fee,
        "taxes": quote.taxes,
        "total": quote.total,
        "currency": quote.currency,
    }


def share_half_up(amount: int, basis_points: int) -> int:
    """amount x bps / 10,000, rounded half-up, in integers only (no float ever touches money)."""
    numerator = amount * basis_points
    quotient, remainder = divmod(numerator, 10_000)
    return quotient + (1 if remainder * 2 >= 10_000 else 0)


def nights_between(check_in: dt.date, check_out: dt.date) -> list[dt.date]:
    return [check_in + dt.timedelta(days=i) for i in range((check_out - check_in).days)]


def nightly_prices(nights: Iterable[dt.date], base_price: int, overrides: Sequence[PriceOverrideRange]) -> list[Night]:
    priced = []
    for night in nights:
        price = base_price
        for override in overrides:
            if override.start <= night < override.end:
                price = override.nightly_price
                break
        priced.append(Night(night, price))
    return priced


def quote_stay(
    *,
    check_in: dt.date,
    check_out: dt.date,
    base_price: int,
    cleaning_fee: int,
    currency: str,
    overrides: Sequence[PriceOverrideRange],
    fees: Fees,
) -> Quote:
    nightly = nightly_prices(nights_between(check_in, check_out), base_price, overrides)
    subtotal = sum(n.price for n in nightly)
    service_fee = share_half_up(subtotal, fees.service_fee_bps)
    taxes = share_half_up(subtotal + cleaning_fee, fees.tax_bps)
    return Quote(
        nights=len(nightly),
        nightly=nightly,
        subtotal=subtotal,
        cleaning_fee=cleaning_fee,
        service_fee=service_fee,
        taxes=taxes,
        total=subtotal + cleaning_fee + service_fee + taxes,
        currency=currency,
    )


@dataclass(frozen=True)
class StayRules:
    max_guests: int
    min_nights: int
    max_nights: int


MAX_BOOKING_HORIZON_DAYS = 730


def stay_date_problems(*, check_in: dt.date, check_out: dt.date, today: dt.date) -> list[tuple[str, str]]:
    """(field, message) for dates no stay may have, on any listing (a search's dates, a booking's)."""
    problems: list[tuple[str, str]] = []
    if check_out <= check_in:
        problems.append(("check_out", "must be after check_in"))
    if check_in < today:
        problems.append(("check_in", "must not be in the past"))
    if check_in > today + dt.timedelta(days=MAX_BOOKING_HORIZON_DAYS):
        problems.append(("check_in", f"must be within {MAX_BOOKING_HORIZON_DAYS} days"))
    return problems


def stay_problems(
    *, check_in: dt.date, check_out: dt.date, guests: int, rules: StayRules, today: dt.date
) -> list[tuple[str, str]]:
    """(field, message) for every reason this stay cannot be booked, whatever the calendar says."""
    problems = stay_date_problems(check_in=check_in, check_out=check_out, today=today)
    if guests < 1:
        problems.append(("guests", "must be at least 1"))
    elif guests > rules.max_guests:
        problems.append(("guests", f"this home takes at most {rules.max_guests} guests"))
    if check_out > check_in:
        nights = (check_out - check_in).days
        if nights < rules.min_nights:
            problems.append(("check_out", f"this home needs at least {rules.min_nights} nights"))
        if nights > rules.max_nights:
            problems.append(("check_out", f"this home takes at most {rules.max_nights} nights"))
    return problems
