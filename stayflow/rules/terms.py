"""A booking's terms: what was agreed when it was made, frozen with it (SPEC §12).

Every later decision about a booking (refund, change, payout, review window, expiry) reads these,
never the listing's or the platform's current settings: a host switching the listing to `strict`
or an admin raising a fee changes nothing for bookings already made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from stayflow.rules.pricing import PricingRules
from stayflow.rules.refunds import Policy
from stayflow.rules.stays import StayClock


class BookingTerms(msgspec.Struct, frozen=True, kw_only=True):
    cancellation_policy: Policy
    guest_fee_bps: int
    """The guest service fee, in basis points of the nights' subtotal."""
    host_fee_bps: int
    """The host service fee, in basis points of the nights and the cleaning fee."""
    tax_bps: int
    currency: str
    time_zone: str = "UTC"
    """The listing's IANA time zone: check-in and check-out times are local to it."""
    check_in_time: str = "15:00"
    check_out_time: str = "11:00"
    pricing: PricingRules | None = None
    """The listing's pricing rules when the booking was made (discounts, weekend price, extra-guest
    fee); None for bookings from before them. What they came to is in the booking's price (its
    `adjustments`); a later change of dates re-prices by the listing's rules at that time."""

    @property
    def clock(self) -> StayClock:
        """The listing's local clock, as frozen: every deadline of the booking is computed on it."""
        return StayClock(self.time_zone, self.check_in_time, self.check_out_time)


def terms_json(terms: BookingTerms) -> dict[str, Any]:
    """The terms as the database keeps them (read back by `stored_terms`)."""
    built: dict[str, Any] = msgspec.to_builtins(terms)
    return built


def stored_terms(stored: Mapping[str, Any] | str) -> BookingTerms:
    """The terms from a booking's `terms` JSONB (piccolo hands over a dict or its JSON text)."""
    if isinstance(stored, str):
        return msgspec.json.decode(stored, type=BookingTerms)
    return msgspec.convert(dict(stored), BookingTerms)
