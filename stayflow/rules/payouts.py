"""What the host is paid for a booking, and when: one statement each (SPEC §12, issue 11 item 6).

The host's earnings are the nights and the cleaning fee less the host service fee
(`terms.host_fee_bps` of the same base, rounded half-up). The guest's service fee and the taxes
are never the host's. A cancellation refund takes from the host exactly what it gives back of
the nights and the cleaning fee: the host keeps the earnings on what the guest still pays for.
The payout is released a platform-set number of hours after check-in (default 24 h).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
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
