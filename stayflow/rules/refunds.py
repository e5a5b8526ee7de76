"""Deciding a refund when a booking is cancelled: SPEC §6's table, as one pure function.

Of the amount paid, on **guest** cancellation:

| policy   | 100% back                               | 50% of the nights back                | nothing back |
| -------- | --------------------------------------- | ------------------------------------- | ------------ |
| flexible | ≥ 24 h before check-in                  | later, for the nights not yet started | —            |
| moderate | ≥ 5 days before check-in                | later, for the nights not yet started | —            |
| strict   | within 48 h of booking and ≥ 14 days    | ≥ 7 days before check-in              | < 7 days     |

Host or admin cancellation always refunds 100%. The service fee is refunded whenever the
refund is 100%; the cleaning fee whenever the stay has not started. Taxes follow what they
were levied on (nights + cleaning fee). A night "starts" at the listing's check-in time, local to
its time zone, on its date (`stayflow.rules.stays`); "before check-in" is measured to the
check-in instant of the first night.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from stayflow.rules.pricing import Night, share_half_up
from stayflow.rules.stays import UTC_CLOCK, StayClock

Policy = Literal["flexible", "moderate", "strict"]
Canceller = Literal["guest", "host", "admin"]


@dataclass(frozen=True)
class PaidStay:
    """What the guest paid, line by line (the booking's frozen quote)."""

    nightly: list[Night]
    cleaning_fee: int
    service_fee: int
    taxes: int
    booked_at: dt.datetime
    clock: StayClock = UTC_CLOCK
    """The listing's local clock as the booking's terms froze it."""

    @property
    def subtotal(self) -> int:
        return sum(n.price for n in self.nightly)

    @property
    def total(self) -> int:
        return self.subtotal + self.cleaning_fee + self.service_fee + self.taxes

    @property
    def check_in(self) -> dt.datetime:
        return self.clock.night_starts(self.nightly[0].date)


@dataclass(frozen=True)
class Refund:
    nights: int
    """Minor units of the nights' price given back."""
    cleaning_fee: int
    service_fee: int
    taxes: int
    rule: str
    """Which line of the table applied, in words (shown to the guest)."""

    @property
    def amount(self) -> int:
        return self.nights + self.cleaning_fee + self.service_fee + self.taxes


def credit_lines(refund: Refund) -> list[dict[str, Any]]:
    """The credit note's lines: one per part of the stay given back."""
    lines = [
        ("Refund of nights", refund.nights),
        ("Refund of cleaning fee", refund.cleaning_fee),
        ("Refund of service fee", refund.service_fee),
        ("Refund of taxes", refund.taxes),
    ]
    return [{"description": d, "amount": a} for d, a in lines if a]


def _taxes_on(paid: PaidStay, refunded_base: int) -> int:
    """The share of the taxes levied on what is refunded (taxes were on nights + cleaning)."""
    base = paid.subtotal + paid.cleaning_fee
    if base == 0 or paid.taxes == 0:
        return 0
    return min(paid.taxes, (paid.taxes * refunded_base * 2 + base) // (2 * base))  # half-up


def _refund(paid: PaidStay, nights: int, *, full: bool, started: bool, rule: str) -> Refund:
    cleaning = 0 if started else paid.cleaning_fee
    return Refund(
        nights=nights,
        cleaning_fee=cleaning,
        service_fee=paid.service_fee if full else 0,
        taxes=paid.taxes if full else _taxes_on(paid, nights + cleaning),
        rule=rule,
    )


def refund_for_cancellation(
    *, paid: PaidStay, policy: Policy, cancelled_by: Canceller, cancelled_at: dt.datetime
) -> Refund:
    started = cancelled_at >= paid.check_in
    if cancelled_by != "guest":
        return Refund(
            nights=paid.subtotal,
            cleaning_fee=paid.cleaning_fee,
            service_fee=paid.service_fee,
            taxes=paid.taxes,
            rule=f"cancelled by the {cancelled_by}: everything back",
        )
    before = paid.check_in - cancelled_at
    not_started = sum(n.price for n in paid.nightly if paid.clock.night_starts(n.date) > cancelled_at)
    if policy in ("flexible", "moderate"):
        notice = dt.timedelta(hours=24) if policy == "flexible" else dt.timedelta(days=5)
        if before >= notice:
            return _refund(
                paid,
                paid.subtotal,
                full=True,
                started=False,
                rule=f"{policy}: at least {_words(notice)} before check-in, everything back",
            )
        return _refund(
            paid,
            share_half_up(not_started, 5000),
            full=False,
            started=started,
            rule=f"{policy}: under {_words(notice)} before check-in, 50% of the nights not yet started",
        )
    within_48h_of_booking = cancelled_at - paid.booked_at <= dt.timedelta(hours=48)
    if within_48h_of_booking and before >= dt.timedelta(days=14):
        return _refund(
            paid,
            paid.subtotal,
            full=True,
            started=False,
            rule="strict: within 48 h of booking and 14+ days before check-in, everything back",
        )
    if before >= dt.timedelta(days=7):
        return _refund(
            paid,
            share_half_up(paid.subtotal, 5000),
            full=False,
            started=False,
            rule="strict: 7 days or more before check-in, 50% of the nights",
        )
    return _refund(
        paid,
        0,
        full=False,
        started=started,
        rule="strict: less than 7 days before check-in, nothing back for the nights",
    )


def free_cancellation_until(*, paid: PaidStay, policy: Policy) -> dt.datetime | None:
    """The last instant a guest's cancellation gets everything back (None: it never does), as the
    table above says it: `refund_for_cancellation` at this instant refunds the whole stay."""
    if policy in ("flexible", "moderate"):
        return paid.check_in - (dt.timedelta(hours=24) if policy == "flexible" else dt.timedelta(days=5))
    until = min(paid.booked_at + dt.timedelta(hours=48), paid.check_in - dt.timedelta(days=14))
    return until if until >= paid.booked_at else None


def _words(delta: dt.timedelta) -> str:
    """The policy's notice as the table says it: "24 h", "5 days"."""
    hours = int(delta.total_seconds() // 3600)
    return f"{hours} h" if hours < 48 else f"{delta.days} days"
