"""The host service fee and what the host is paid for a booking (issue 11 item 4).

The host fee is `host_fee_bps` (frozen in the booking's terms) of the nights and the cleaning
fee, rounded half up; the host earns the nights and the cleaning fee less that fee. "The nights"
is the quote's `subtotal`: the nights' prices after the adjustments (length-of-stay discount,
extra-guest fee), the same base the guest's service fee is a share of. The guest's
service fee and the taxes are the platform's, never the host's.
"""

from __future__ import annotations

from dataclasses import dataclass

from stayflow.rules.pricing import Quote, share_half_up


@dataclass(frozen=True)
class HostEarnings:
    amount: int
    """What the host will be paid, minor units of `currency`."""
    currency: str
    fee: int
    """The host service fee kept by the platform."""


def earnings_on(base: int, host_fee_bps: int, currency: str) -> HostEarnings:
    """The one statement of the host's earnings: `base` (nights + cleaning fee the guest pays for)
    less the host fee on it, rounded half up."""
    fee = share_half_up(base, host_fee_bps)
    return HostEarnings(amount=base - fee, currency=currency, fee=fee)


def host_earnings(quote: Quote, host_fee_bps: int) -> HostEarnings:
    return earnings_on(quote.subtotal + quote.cleaning_fee, host_fee_bps, quote.currency)
