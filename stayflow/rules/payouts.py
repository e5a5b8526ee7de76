"""What the host is paid for a booking, and when: one statement each (SPEC §12, issue 11 item 6).

The host's earnings are the nights and the cleaning fee less the host service fee
(`terms.host_fee_bps` of the same base, rounded half-up). The guest's service fee and the taxes
are never the host's. A cancellation refund takes from the host exactly what it gives back of
the nights and the cleaning fee: the host keeps the earnings on what the guest still pays for.
The payout is released a platform-set number of hours after check-in (default 24 h).

Also here: whether a listing may be submitted or published before its host can be paid (the
platform's `require_payouts_to_publish`), and the host's monthly statement: one line per booking
whose payout is released in the UTC month, from the ledger's `host_payable` postings, and the
totals per currency.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stayflow.rules.fees import HostEarnings, earnings_on
from stayflow.rules.stays import UTC_CLOCK, StayClock
from stayflow.rules.terms import BookingTerms

DEFAULT_PAYOUT_DELAY_HOURS = 24


def _base(quote: Mapping[str, Any]) -> int:
    return int(quote.get("subtotal", 0)) + int(quote.get("cleaning_fee", 0))


def host_earnings(quote: Mapping[str, Any], terms: BookingTerms) -> HostEarnings:
    """The host's earnings of a booking's quote (`subtotal` + `cleaning_fee` - host fee, half-up)."""
    return earnings_on(_base(quote), terms.host_fee_bps, terms.currency)


REFUNDED_FROM_HOST = ("Refund of nights", "Refund of cleaning fee")
"""The credit-note lines (`stayflow.rules.refunds.credit_lines`) that the host's earnings give back."""


def host_earnings_after_refund(
    quote: Mapping[str, Any], terms: BookingTerms, refund_lines: Sequence[Mapping[str, Any]] | None
) -> HostEarnings:
    """The host's earnings once a cancellation refund is given back: the fee on what remains."""
    refunded = sum(int(line["amount"]) for line in refund_lines or () if line.get("description") in REFUNDED_FROM_HOST)
    return earnings_on(max(0, _base(quote) - refunded), terms.host_fee_bps, terms.currency)


def payout_release_at(
    check_in: dt.date, delay_hours: int = DEFAULT_PAYOUT_DELAY_HOURS, clock: StayClock = UTC_CLOCK
) -> dt.datetime:
    """When the host's money is released: `delay_hours` after the stay's check-in instant (on the
    listing's clock, as frozen in the booking's terms)."""
    return clock.night_starts(check_in) + dt.timedelta(hours=delay_hours)


# --- publishing a listing before its host can be paid ---------------------------------------------

PAYOUTS_NOT_ENABLED = "payouts_not_enabled"
"""The requirement a listing's host fails while their connected account cannot be paid."""


def payouts_required_to_publish(stored: bool | None, env: str) -> bool:
    """The platform's `require_payouts_to_publish`: what an admin set, else (never set, NULL) the
    deployment's default: on in production, off in `dev` and `test`."""
    return stored if stored is not None else env == "production"


def publish_requirement(required: bool, payouts_enabled: bool) -> str | None:
    """What stops a host's listing from being submitted or published, if anything."""
    return PAYOUTS_NOT_ENABLED if required and not payouts_enabled else None


# --- the host's monthly statement ------------------------------------------------------------------

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


def statement_month(text: str) -> tuple[dt.datetime, dt.datetime]:
    """`YYYY-MM` as the UTC instants [first of the month, first of the next); ValueError otherwise.
    A statement's month is the UTC month of each payout's release (one boundary for every listing
    of a host, whatever their time zones, as Stripe's transfers and the books have it)."""
    match = _MONTH.fullmatch(text)
    if match is None:
        raise ValueError("a month is written YYYY-MM, such as 2027-03")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or year < 2000:
        raise ValueError("a month is written YYYY-MM with a month from 01 to 12 (and a year from 2000)")
    start = dt.datetime(year, month, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC)
    return start, end


@dataclass(frozen=True)
class StatementBooking:
    """One booking's facts for the statement: as booked, and as the books say now."""

    booking_id: str
    guest_first_name: str
    listing_title: str
    check_in: dt.date
    check_out: dt.date
    quote: Mapping[str, Any]
    terms: BookingTerms | None
    """None for a booking made before terms were frozen: it earns nothing through payouts."""
    currency: str
    accrued: int
    """The ledger: `host_payable` credit - debit of the booking's entries other than transfers and
    their reversals (its earnings as of now, after any refund)."""
    transferred: int
    """The ledger: `host_payable` debited by transfers to the host."""
    reversed: int
    """The ledger: `host_payable` credited back by transfer reversals."""
    payout_status: str
    release_at: dt.datetime
    paid_at: dt.datetime | None


@dataclass(frozen=True)
class StatementLine:
    booking_id: str
    guest_first_name: str
    listing_title: str
    check_in: dt.date
    check_out: dt.date
    nights: int
    currency: str
    gross: int
    """Nights + cleaning fee, as booked."""
    host_fee: int
    """The host service fee on the gross, by the booking's terms."""
    earnings: int
    """gross - host_fee: what the host earned as booked."""
    refunded: int
    """What cancellation refunds took back of those earnings (the fee on what stays is kept)."""
    paid: int
    """Transferred to the host."""
    reversed: int
    """Taken back from the host after the transfer (a refund after release)."""
    net_paid: int
    """paid - reversed."""
    outstanding: int
    """Still to pay (earnings - refunded - net_paid): before release, or while held or refused."""
    payout_status: str
    release_at: dt.datetime
    paid_at: dt.datetime | None


@dataclass(frozen=True)
class StatementTotal:
    currency: str
    bookings: int
    gross: int
    host_fee: int
    earnings: int
    refunded: int
    paid: int
    reversed: int
    net_paid: int
    outstanding: int


def statement_line(booking: StatementBooking) -> StatementLine:
    """One booking's line: as booked (gross, fee, earnings by its frozen terms) and as the books say
    now. `earnings - refunded == net_paid + outstanding` always holds."""
    if booking.terms is not None:
        booked = host_earnings(booking.quote, booking.terms)
    else:  # as the books have it (`activities.ledger.allocate`): nothing is the host's
        booked = HostEarnings(amount=0, currency=booking.currency, fee=0)
    net_paid = booking.transferred - booking.reversed
    return StatementLine(
        booking_id=booking.booking_id,
        guest_first_name=booking.guest_first_name,
        listing_title=booking.listing_title,
        check_in=booking.check_in,
        check_out=booking.check_out,
        nights=(booking.check_out - booking.check_in).days,
        currency=booked.currency,
        gross=_base(booking.quote) if booking.terms is not None else 0,
        host_fee=booked.fee,
        earnings=booked.amount,
        refunded=booked.amount - booking.accrued,
        paid=booking.transferred,
        reversed=booking.reversed,
        net_paid=net_paid,
        outstanding=booking.accrued - net_paid,
        payout_status=booking.payout_status,
        release_at=booking.release_at,
        paid_at=booking.paid_at,
    )


_SUMMED = ("gross", "host_fee", "earnings", "refunded", "paid", "reversed", "net_paid", "outstanding")


def statement_totals(lines: Sequence[StatementLine]) -> list[StatementTotal]:
    """The lines summed per currency (never across currencies), currencies in alphabetical order."""
    totals: dict[str, dict[str, int]] = {}
    for line in lines:
        sums = totals.setdefault(line.currency, dict.fromkeys(("bookings", *_SUMMED), 0))
        sums["bookings"] += 1
        for name in _SUMMED:
            sums[name] += getattr(line, name)
    return [StatementTotal(currency=currency, **sums) for currency, sums in sorted(totals.items())]


@dataclass(frozen=True)
class Statement:
    month: str
    """`YYYY-MM`."""
    starts_at: dt.datetime
    ends_at: dt.datetime
    host_name: str
    lines: list[StatementLine]
    totals: list[StatementTotal]
