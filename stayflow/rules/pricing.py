"""Pricing a stay: the one implementation behind quotes, bookings and modifications.

Money is integer minor units. Each line is rounded half-up to the minor unit once; the total is
the sum of the rounded lines:

- **nightly**: each night (the listing-local date it starts) costs, first match wins: its price
  override if one covers it, else the weekend price on a Friday or Saturday night if the listing
  has one, else the listing's nightly price (`Night.kind` says which);
- **adjustments**, each its own line: a length-of-stay discount (`monthly_discount` for 28 nights
  or more, else `weekly_discount` for 7 or more; never both; a listing without a monthly discount
  gives its weekly one to long stays too) of the nights' prices, negative; and `extra_guests`, the
  extra-guest fee per night for each guest above `guests_included`. The discount is of the nights'
  prices only, never of the extra-guest fee or the cleaning fee;
- **subtotal** = the nights' prices + the adjustments: the nights as the guest pays for them. The
  service fee is service_fee_bps of the subtotal; taxes are tax_bps of subtotal + cleaning fee; the
  host fee (`stayflow.rules.fees`) is on the same subtotal + cleaning fee;
- **total** = subtotal + cleaning fee + service fee + taxes.

A stay's minimum length is the minimum of the season its check-in night falls in (a `Season`),
else the listing's own `min_nights`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast

NightKind = Literal["base", "weekend", "override"]
AdjustmentKind = Literal["weekly_discount", "monthly_discount", "extra_guests"]

WEEKLY_NIGHTS = 7
MONTHLY_NIGHTS = 28
WEEKEND_NIGHTS = frozenset({4, 5})
"""Friday and Saturday nights (`date.weekday()`): the nights a weekend price applies to."""


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
class PricingRules:
    """A listing's pricing rules beyond its nightly price and overrides (all off by default)."""

    weekly_discount_percent: int = 0
    """Percent off the nights' prices for stays of 7 nights or more."""
    monthly_discount_percent: int = 0
    """Percent off for 28 nights or more, instead of the weekly discount (0: the weekly one applies)."""
    weekend_price: int | None = None
    """The nightly price of Friday and Saturday nights (None: the nightly price)."""
    guests_included: int = 1
    """Guests the nightly price covers; each guest above pays `extra_guest_fee` per night."""
    extra_guest_fee: int = 0


NO_RULES = PricingRules()


@dataclass(frozen=True)
class Night:
    date: dt.date
    price: int
    kind: NightKind | None = None
    """Which price it is; None in quotes stored before weekend prices existed (base or override)."""


@dataclass(frozen=True)
class Adjustment:
    """One line of the quote that changes what the nights cost."""

    kind: AdjustmentKind
    amount: int
    """Signed minor units: a discount is negative."""
    description: str
    percent: int | None = None
    """Discounts: percent off `base`."""
    base: int | None = None
    """Discounts: the nights' prices the percent is of."""
    guests: int | None = None
    """Extra guests: how many guests above the included ones."""
    fee_per_night: int | None = None
    """Extra guests: the fee per extra guest and night."""
    nights: int | None = None


@dataclass(frozen=True)
class Quote:
    nights: int
    nightly: list[Night]
    subtotal: int
    """The nights as the guest pays for them: the nights' prices plus the adjustments."""
    cleaning_fee: int
    service_fee: int
    taxes: int
    total: int
    currency: str
    adjustments: list[Adjustment] = field(default_factory=list)


def stored_quote(stored: Mapping[str, Any] | str) -> Quote:
    """A quote as the database keeps it (a booking's or a change's `price` JSONB, which piccolo
    hands over as a dict or as its JSON text): the one reader of `quote_json`'s shape. Quotes
    stored before pricing rules have no adjustments and no kind of night."""
    data = json.loads(stored) if isinstance(stored, str) else stored
    return Quote(
        nights=data["nights"],
        nightly=[
            Night(dt.date.fromisoformat(n["date"]), n["price"], cast(NightKind | None, n.get("kind")))
            for n in data["nightly"]
        ],
        subtotal=data["subtotal"],
        cleaning_fee=data["cleaning_fee"],
        service_fee=data["service_fee"],
        taxes=data["taxes"],
        total=data["total"],
        currency=data["currency"],
        adjustments=[Adjustment(**a) for a in data.get("adjustments", ())],
    )


def quote_json(quote: Quote) -> dict[str, Any]:
    """The quote as it is stored (and read back by `stored_quote`)."""
    return {
        "nights": quote.nights,
        "nightly": [
            {"date": n.date.isoformat(), "price": n.price} | ({"kind": n.kind} if n.kind is not None else {})
            for n in quote.nightly
        ],
        "adjustments": [{k: v for k, v in asdict(a).items() if v is not None} for a in quote.adjustments],
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


def nightly_prices(
    nights: Iterable[dt.date],
    base_price: int,
    overrides: Sequence[PriceOverrideRange],
    weekend_price: int | None = None,
) -> list[Night]:
    """Each night's price: its override, else the weekend price (Friday, Saturday), else the base."""
    priced = []
    for night in nights:
        override = next((o for o in overrides if o.start <= night < o.end), None)
        if override is not None:
            priced.append(Night(night, override.nightly_price, "override"))
        elif weekend_price is not None and night.weekday() in WEEKEND_NIGHTS:
            priced.append(Night(night, weekend_price, "weekend"))
        else:
            priced.append(Night(night, base_price, "base"))
    return priced


def length_discount(nights: int, rules: PricingRules) -> tuple[AdjustmentKind, int] | None:
    """The length-of-stay discount a stay of `nights` gets (kind, percent), if any."""
    monthly = rules.monthly_discount_percent or rules.weekly_discount_percent
    if nights >= MONTHLY_NIGHTS and monthly > 0:
        return ("monthly_discount" if rules.monthly_discount_percent else "weekly_discount"), monthly
    if nights >= WEEKLY_NIGHTS and rules.weekly_discount_percent > 0:
        return "weekly_discount", rules.weekly_discount_percent
    return None


def adjustments_of(nightly: Sequence[Night], guests: int, rules: PricingRules) -> list[Adjustment]:
    """The quote's adjustment lines, each rounded once (half-up)."""
    lines: list[Adjustment] = []
    nights = len(nightly)
    discount = length_discount(nights, rules)
    if discount is not None:
        kind, percent = discount
        base = sum(n.price for n in nightly)
        least = MONTHLY_NIGHTS if kind == "monthly_discount" else WEEKLY_NIGHTS
        lines.append(
            Adjustment(
                kind=kind,
                amount=-share_half_up(base, percent * 100),
                description=f"{percent}% off stays of {least} nights or more",
                percent=percent,
                base=base,
            )
        )
    extra = max(0, guests - rules.guests_included)
    if extra and rules.extra_guest_fee and nights:
        lines.append(
            Adjustment(
                kind="extra_guests",
                amount=extra * rules.extra_guest_fee * nights,
                description=(
                    f"{extra} guest{'s' if extra > 1 else ''} above the {rules.guests_included} included, "
                    f"{nights} night{'s' if nights > 1 else ''}"
                ),
                guests=extra,
                fee_per_night=rules.extra_guest_fee,
                nights=nights,
            )
        )
    return lines


def quote_stay(
    *,
    check_in: dt.date,
    check_out: dt.date,
    base_price: int,
    cleaning_fee: int,
    currency: str,
    overrides: Sequence[PriceOverrideRange],
    fees: Fees,
    guests: int = 1,
    rules: PricingRules = NO_RULES,
) -> Quote:
    nightly = nightly_prices(nights_between(check_in, check_out), base_price, overrides, rules.weekend_price)
    adjustments = adjustments_of(nightly, guests, rules)
    subtotal = sum(n.price for n in nightly) + sum(a.amount for a in adjustments)
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
        adjustments=adjustments,
    )


def nights_as_paid(quote: Quote) -> list[Night]:
    """Each night with its share of the adjustments, summing exactly to the quote's subtotal: what a
    refund of some nights gives back. The extra-guest fee is the same every night; a discount is
    shared in proportion to the nights' prices (largest remainders take the odd minor units)."""
    if not quote.adjustments or not quote.nightly:
        return list(quote.nightly)
    per_night = [n.price for n in quote.nightly]
    for adjustment in quote.adjustments:
        if adjustment.kind == "extra_guests":
            share = adjustment.amount // len(per_night)
            per_night = [p + share for p in per_night]
            for i in range(adjustment.amount - share * len(per_night)):
                per_night[i] += 1
        else:
            per_night = [p - s for p, s in zip(per_night, _shared(-adjustment.amount, quote.nightly), strict=True)]
    return [Night(n.date, p, n.kind) for n, p in zip(quote.nightly, per_night, strict=True)]


def _shared(amount: int, nightly: Sequence[Night]) -> list[int]:
    """`amount` split over the nights in proportion to their prices, summing exactly to it."""
    whole = sum(n.price for n in nightly)
    if whole == 0:
        return [0] * len(nightly)
    exact = [(amount * n.price) for n in nightly]
    shares = [e // whole for e in exact]
    by_remainder = sorted(range(len(nightly)), key=lambda i: (-(exact[i] % whole), i))
    for i in by_remainder[: amount - sum(shares)]:
        shares[i] += 1
    return shares


@dataclass(frozen=True)
class Season:
    """Check-in nights in [start, end) need at least `min_nights`."""

    start: dt.date
    end: dt.date
    """Exclusive."""
    min_nights: int


def min_nights_for(check_in: dt.date, min_nights: int, seasons: Sequence[Season]) -> tuple[int, Season | None]:
    """The minimum stay for a check-in on this night: its season's, else the listing's own."""
    season = next((s for s in seasons if s.start <= check_in < s.end), None)
    return (season.min_nights if season else min_nights), season


@dataclass(frozen=True)
class StayRules:
    max_guests: int
    min_nights: int
    max_nights: int
    seasons: Sequence[Season] = ()


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
        least, season = min_nights_for(check_in, rules.min_nights, rules.seasons)
        if nights < least:
            during = f" for check-in from {season.start} to {season.end - dt.timedelta(days=1)}" if season else ""
            problems.append(("check_out", f"this home needs at least {least} nights{during}"))
        if nights > rules.max_nights:
            problems.append(("check_out", f"this home takes at most {rules.max_nights} nights"))
    return problems


def pricing_rule_problems(rules: PricingRules, *, max_guests: int) -> list[tuple[str, str]]:
    """(field, message) for pricing rules a listing may not have (the bounds of each field are the
    API's schema; these are the rules between fields)."""
    problems: list[tuple[str, str]] = []
    for name in ("weekly_discount_percent", "monthly_discount_percent"):
        if not 0 <= getattr(rules, name) <= 100:
            problems.append((name, "must be a percent from 0 to 100"))
    if 0 < rules.monthly_discount_percent < rules.weekly_discount_percent:
        problems.append(("weekly_discount_percent", "must not be more than monthly_discount_percent"))
    if rules.extra_guest_fee < 0:
        problems.append(("extra_guest_fee", "must not be negative"))
    if rules.weekend_price is not None and rules.weekend_price <= 0:
        problems.append(("weekend_price", "must be positive"))
    if not 1 <= rules.guests_included <= max_guests:
        problems.append(("guests_included", f"must be from 1 to max_guests ({max_guests})"))
    return problems


def season_problems(
    seasons: Sequence[Season], *, max_nights: int, today: dt.date, name: str = "seasons"
) -> list[tuple[str, str]]:
    """(field, message) for seasons a listing may not have: backwards or ended ranges, overlaps, a
    minimum over the listing's maximum stay."""
    problems: list[tuple[str, str]] = []
    horizon = today + dt.timedelta(days=MAX_BOOKING_HORIZON_DAYS)
    for i, season in enumerate(seasons):
        if season.end <= season.start:
            problems.append((f"{name}[{i}].end", "must be after start"))
        elif season.end <= today:
            problems.append((f"{name}[{i}].end", "must not be in the past"))
        elif season.start > horizon:
            problems.append((f"{name}[{i}].start", f"must be within {MAX_BOOKING_HORIZON_DAYS} days"))
        if not 1 <= season.min_nights <= max_nights:
            problems.append((f"{name}[{i}].min_nights", f"must be from 1 to the listing's max_nights ({max_nights})"))
    ordered = sorted((s for s in seasons if s.end > s.start), key=lambda s: s.start)
    for before, after in itertools.pairwise(ordered):
        if after.start < before.end:
            problems.append((name, f"{after.start} is in two seasons"))
    return problems
