"""The refund table of SPEC §6: a property test against an independent statement of the table,
plus named examples at every boundary."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stayflow.rules.pricing import Night
from stayflow.rules.refunds import PaidStay, credit_lines, refund_for_cancellation

CHECK_IN = dt.date(2027, 7, 10)
CHECK_IN_AT = dt.datetime(2027, 7, 10, 15, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def stay(nights: list[int], cleaning: int = 5_000, service: int = 0, taxes: int = 0,
         booked_at: dt.datetime = CHECK_IN_AT - 60 * DAY) -> PaidStay:  # fmt: skip
    return PaidStay(
        nightly=[Night(CHECK_IN + i * DAY, p) for i, p in enumerate(nights)],
        cleaning_fee=cleaning, service_fee=service or sum(nights) * 12 // 100, taxes=taxes, booked_at=booked_at,
    )  # fmt: skip


def expected_fraction_of_nights(policy: str, paid: PaidStay, at: dt.datetime) -> tuple[str, float]:
    """The table, read literally: ("all"|"half-unstarted"|"half-all"|"none", share)."""
    hours_before = (CHECK_IN_AT - at) / HOUR
    if policy == "flexible":
        return ("all", 1.0) if hours_before >= 24 else ("half-unstarted", 0.5)
    if policy == "moderate":
        return ("all", 1.0) if hours_before >= 5 * 24 else ("half-unstarted", 0.5)
    if (at - paid.booked_at) / HOUR <= 48 and hours_before >= 14 * 24:
        return ("all", 1.0)
    if hours_before >= 7 * 24:
        return ("half-all", 0.5)
    return ("none", 0.0)


@given(
    policy=st.sampled_from(["flexible", "moderate", "strict"]),
    minutes_before=st.integers(min_value=-10 * 24 * 60, max_value=40 * 24 * 60),
    booked_minutes_before=st.integers(min_value=0, max_value=60 * 24 * 60),
    nights=st.lists(st.integers(min_value=100, max_value=500_000), min_size=1, max_size=14),
    cleaning=st.integers(min_value=0, max_value=50_000),
    tax_bps=st.integers(min_value=0, max_value=2500),
)
def test_guest_refunds_follow_the_table(
    policy: str, minutes_before: int, booked_minutes_before: int, nights: list[int], cleaning: int, tax_bps: int
) -> None:
    at = CHECK_IN_AT - dt.timedelta(minutes=minutes_before)
    booked_at = min(at, at - dt.timedelta(minutes=booked_minutes_before))
    taxes = (sum(nights) + cleaning) * tax_bps // 10_000
    paid = stay(nights, cleaning=cleaning, taxes=taxes, booked_at=booked_at)
    refund = refund_for_cancellation(paid=paid, policy=policy, cancelled_by="guest", cancelled_at=at)  # type: ignore[arg-type]
    kind, share = expected_fraction_of_nights(policy, paid, at)
    started = at >= CHECK_IN_AT
    unstarted = [n.price for n in paid.nightly if dt.datetime.combine(n.date, dt.time(15), tzinfo=dt.UTC) > at]
    if kind == "all":
        assert refund.amount == paid.total
    else:
        basis = sum(unstarted) if kind == "half-unstarted" else sum(nights)
        assert abs(refund.nights - basis * share) <= 0.5  # half-up, once
        assert refund.service_fee == 0
        assert refund.cleaning_fee == (0 if started else cleaning)
        assert 0 <= refund.taxes <= taxes
    assert 0 <= refund.amount <= paid.total


@given(policy=st.sampled_from(["flexible", "moderate", "strict"]), who=st.sampled_from(["host", "admin"]),
       minutes_before=st.integers(min_value=-5 * 24 * 60, max_value=40 * 24 * 60))  # fmt: skip
def test_host_or_admin_cancellation_refunds_everything(policy: str, who: str, minutes_before: int) -> None:
    paid = stay([10_000, 12_000], cleaning=4_000, taxes=1_300)
    at = CHECK_IN_AT - dt.timedelta(minutes=minutes_before)
    refund = refund_for_cancellation(paid=paid, policy=policy, cancelled_by=who, cancelled_at=at)  # type: ignore[arg-type]
    assert refund.amount == paid.total


PAID = stay([10_000, 10_000, 10_000, 10_000], cleaning=5_000, service=4_800, taxes=0)


@pytest.mark.parametrize(
    ("policy", "before", "booked_before", "nights", "cleaning", "service"),
    [
        ("flexible", 24 * HOUR, 60 * DAY, 40_000, 5_000, 4_800),  # exactly 24 h: everything
        ("flexible", 24 * HOUR - dt.timedelta(seconds=1), 60 * DAY, 20_000, 5_000, 0),
        ("flexible", -HOUR, 60 * DAY, 15_000, 0, 0),  # during night 1: 3 nights not started, half
        ("moderate", 5 * DAY, 60 * DAY, 40_000, 5_000, 4_800),  # exactly 5 days
        ("moderate", 5 * DAY - HOUR, 60 * DAY, 20_000, 5_000, 0),
        ("moderate", -(DAY + HOUR), 60 * DAY, 10_000, 0, 0),  # during night 2: 2 left, half
        ("strict", 14 * DAY, 14 * DAY + 48 * HOUR, 40_000, 5_000, 4_800),  # 48 h after booking, 14 days
        ("strict", 14 * DAY, 14 * DAY + 48 * HOUR + HOUR, 20_000, 5_000, 0),  # 49 h after booking
        ("strict", 14 * DAY - HOUR, 14 * DAY, 20_000, 5_000, 0),  # booked just now, 13.96 days
        ("strict", 7 * DAY, 60 * DAY, 20_000, 5_000, 0),  # exactly 7 days
        ("strict", 7 * DAY - HOUR, 60 * DAY, 0, 5_000, 0),  # under 7 days: cleaning fee only
        ("strict", -HOUR, 60 * DAY, 0, 0, 0),  # during the stay: nothing
    ],
)  # fmt: skip
def test_boundaries(policy: str, before: dt.timedelta, booked_before: dt.timedelta, nights: int, cleaning: int,
                    service: int) -> None:  # fmt: skip
    paid = PaidStay(nightly=PAID.nightly, cleaning_fee=5_000, service_fee=4_800, taxes=0,
                    booked_at=CHECK_IN_AT - booked_before)  # fmt: skip
    refund = refund_for_cancellation(paid=paid, policy=policy, cancelled_by="guest",  # type: ignore[arg-type]
                                     cancelled_at=CHECK_IN_AT - before)  # fmt: skip
    assert (refund.nights, refund.cleaning_fee, refund.service_fee) == (nights, cleaning, service), refund.rule


@given(
    policy=st.sampled_from(["flexible", "moderate", "strict"]),
    who=st.sampled_from(["guest", "host", "admin"]),
    minutes_before=st.integers(min_value=-10 * 24 * 60, max_value=40 * 24 * 60),
    nights=st.lists(st.integers(min_value=100, max_value=500_000), min_size=1, max_size=14),
    cleaning=st.integers(min_value=0, max_value=50_000),
    service=st.integers(min_value=0, max_value=100_000),
    taxes=st.integers(min_value=0, max_value=100_000),
)
def test_money_is_conserved_by_every_cancellation(
    policy: str, who: str, minutes_before: int, nights: list[int], cleaning: int, service: int, taxes: int
) -> None:
    """Captured - refunded = what the guest finally paid, and the credit note says the same."""
    paid = stay(nights, cleaning=cleaning, service=service or 1, taxes=taxes)
    at = CHECK_IN_AT - dt.timedelta(minutes=minutes_before)
    refund = refund_for_cancellation(paid=paid, policy=policy, cancelled_by=who, cancelled_at=at)  # type: ignore[arg-type]
    kept = paid.total - refund.amount
    assert 0 <= refund.amount <= paid.total and kept >= 0
    assert sum(line["amount"] for line in credit_lines(refund)) == refund.amount
    assert refund.nights <= paid.subtotal and refund.cleaning_fee <= paid.cleaning_fee
    assert refund.service_fee <= paid.service_fee and refund.taxes <= paid.taxes


@pytest.mark.parametrize(
    ("policy", "before", "rule"),
    [
        ("flexible", 2 * DAY, "flexible: at least 24 h before check-in, everything back"),
        ("flexible", HOUR, "flexible: under 24 h before check-in, 50% of the nights not yet started"),
        ("moderate", 6 * DAY, "moderate: at least 5 days before check-in, everything back"),
        ("moderate", DAY, "moderate: under 5 days before check-in, 50% of the nights not yet started"),
    ],
)
def test_the_rule_reads_like_the_policy_table(policy: str, before: dt.timedelta, rule: str) -> None:
    when = CHECK_IN_AT - before
    refund = refund_for_cancellation(paid=PAID, policy=policy, cancelled_by="guest", cancelled_at=when)  # type: ignore[arg-type]
    assert refund.rule == rule
