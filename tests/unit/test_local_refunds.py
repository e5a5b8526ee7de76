"""Refunds and deadlines on the listing's local clock, with the booking's frozen terms."""

from __future__ import annotations

import datetime as dt

import pytest

from stayflow.rules.fees import host_earnings
from stayflow.rules.pricing import Night, Quote
from stayflow.rules.refunds import PaidStay, Policy, free_cancellation_until, refund_for_cancellation
from stayflow.rules.stays import StayClock
from stayflow.rules.terms import BookingTerms

DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)


def stay(check_in: dt.date, clock: StayClock, booked_at: dt.datetime, nights: int = 2) -> PaidStay:
    return PaidStay(
        nightly=[Night(check_in + i * DAY, 12_000) for i in range(nights)],
        cleaning_fee=0,
        service_fee=400,
        taxes=0,
        booked_at=booked_at,
        clock=clock,
    )


def test_tokyo_24_hours_before_check_in_is_nine_hours_earlier_than_in_utc() -> None:
    tokyo = stay(dt.date(2027, 4, 10), StayClock("Asia/Tokyo"), dt.datetime(2027, 3, 1, tzinfo=dt.UTC))
    deadline = free_cancellation_until(paid=tokyo, policy="flexible")
    assert deadline == dt.datetime(2027, 4, 9, 6, tzinfo=dt.UTC)  # 15:00 JST the day before
    full = refund_for_cancellation(paid=tokyo, policy="flexible", cancelled_by="guest", cancelled_at=deadline)
    late = refund_for_cancellation(paid=tokyo, policy="flexible", cancelled_by="guest", cancelled_at=deadline + SECOND)
    assert full.amount == 24_400 and late.amount == 12_000


@pytest.mark.parametrize(
    ("zone", "check_in", "until_utc"),
    [
        # moderate: 5 days before a 15:00 check-in; the clocks change in between
        ("America/New_York", dt.date(2027, 3, 16), dt.datetime(2027, 3, 11, 19, tzinfo=dt.UTC)),
        ("America/New_York", dt.date(2027, 11, 9), dt.datetime(2027, 11, 4, 20, tzinfo=dt.UTC)),
        ("Europe/Berlin", dt.date(2027, 3, 30), dt.datetime(2027, 3, 25, 13, tzinfo=dt.UTC)),
        ("Pacific/Kiritimati", dt.date(2027, 1, 10), dt.datetime(2027, 1, 5, 1, tzinfo=dt.UTC)),
        ("Pacific/Pago_Pago", dt.date(2027, 1, 10), dt.datetime(2027, 1, 6, 2, tzinfo=dt.UTC)),
    ],
)
def test_moderate_free_cancellation_is_five_real_days_before_local_check_in(
    zone: str, check_in: dt.date, until_utc: dt.datetime
) -> None:
    paid = stay(check_in, StayClock(zone), dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    assert paid.check_in - until_utc == 5 * DAY
    assert free_cancellation_until(paid=paid, policy="moderate") == until_utc
    at = refund_for_cancellation(paid=paid, policy="moderate", cancelled_by="guest", cancelled_at=until_utc)
    after = refund_for_cancellation(paid=paid, policy="moderate", cancelled_by="guest", cancelled_at=until_utc + SECOND)
    assert (at.amount, after.amount) == (24_400, 12_000)


def test_a_night_not_yet_started_is_judged_on_local_time() -> None:
    """Pago Pago's first night starts at 02:00 UTC the next day: at 20:00 UTC it has not started."""
    paid = stay(dt.date(2027, 1, 10), StayClock("Pacific/Pago_Pago"), dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    at = dt.datetime(2027, 1, 10, 20, tzinfo=dt.UTC)
    refund = refund_for_cancellation(paid=paid, policy="flexible", cancelled_by="guest", cancelled_at=at)
    assert refund.nights == 12_000  # half of both nights: neither has started locally
    in_utc = stay(dt.date(2027, 1, 10), StayClock(), dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    assert (
        refund_for_cancellation(paid=in_utc, policy="flexible", cancelled_by="guest", cancelled_at=at).nights == 6_000
    )


@pytest.mark.parametrize(
    ("policy", "booked_days_before", "expected_days_before"),
    [("strict", 30, 28.0), ("strict", 15, 14.0), ("strict", 10, None), ("flexible", 3, 1.0)],
)
def test_free_cancellation_until_agrees_with_the_table(
    policy: Policy, booked_days_before: int, expected_days_before: float | None
) -> None:
    clock = StayClock("Europe/Berlin")
    check_in = dt.date(2027, 6, 20)
    booked_at = clock.night_starts(check_in) - booked_days_before * DAY
    paid = stay(check_in, clock, booked_at)
    until = free_cancellation_until(paid=paid, policy=policy)
    if expected_days_before is None:
        assert until is None
        assert (
            refund_for_cancellation(paid=paid, policy=policy, cancelled_by="guest", cancelled_at=booked_at).amount
            < paid.total
        )
        return
    assert until is not None and paid.check_in - until == expected_days_before * DAY
    for at, full in ((until, True), (until + SECOND, False)):
        refund = refund_for_cancellation(paid=paid, policy=policy, cancelled_by="guest", cancelled_at=at)
        assert (refund.amount == paid.total) is full


def test_the_terms_clock_is_the_listings_frozen_one() -> None:
    terms = BookingTerms(
        cancellation_policy="flexible", guest_fee_bps=1200, host_fee_bps=300, tax_bps=0, currency="USD",
        time_zone="Asia/Tokyo", check_in_time="16:00", check_out_time="10:00",
    )  # fmt: skip
    assert terms.clock == StayClock("Asia/Tokyo", "16:00", "10:00")


def test_host_earnings_are_nights_and_cleaning_less_the_host_fee() -> None:
    quote = Quote(
        nights=2, nightly=[], subtotal=24_000, cleaning_fee=5_050, service_fee=2_880, taxes=1_000, total=32_930,
        currency="EUR",
    )  # fmt: skip
    earnings = host_earnings(quote, 300)
    assert (earnings.fee, earnings.amount, earnings.currency) == (872, 28_178, "EUR")  # 3% of 29,050 = 871.5 → 872
    assert host_earnings(quote, 0).amount == 29_050
