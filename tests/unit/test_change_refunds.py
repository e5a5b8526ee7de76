"""Changes compose with the policy (stayflow.rules.change_refunds): the issue's two measured
exploits as examples, and a property test over policies, times, changes and cancellations."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from stayflow.rules.change_refunds import (
    RULE,
    ChangeHistory,
    change_breaks_rule,
    refund_under_rule,
)
from stayflow.rules.changes import change_refusal
from stayflow.rules.pricing import Night
from stayflow.rules.refunds import PaidStay, Policy, refund_for_cancellation
from stayflow.rules.stays import StayClock

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
NOW = dt.datetime(2027, 5, 1, 9, tzinfo=dt.UTC)


def stay(check_in: dt.date, prices: list[int], booked_at: dt.datetime, clock: StayClock = StayClock()) -> PaidStay:
    return PaidStay(
        nightly=[Night(check_in + i * DAY, p) for i, p in enumerate(prices)],
        cleaning_fee=0, service_fee=400, taxes=0, booked_at=booked_at, clock=clock,
    )  # fmt: skip


def guest_cancels(paid: PaidStay, policy: Policy, at: dt.datetime, history: ChangeHistory | None) -> int:
    policy_refund = refund_for_cancellation(paid=paid, policy=policy, cancelled_by="guest", cancelled_at=at)
    return refund_under_rule(policy_refund, history).amount


def test_moving_a_moderate_stay_40_days_ahead_then_cancelling_gets_the_policys_refund() -> None:
    """Issue 11, "Why": 3 days out, moved 40 days ahead at the same price, then cancelled."""
    booked = stay(NOW.date() + 3 * DAY, [12_000, 12_000], NOW - 10 * DAY)
    direct = guest_cancels(booked, "moderate", NOW, None)
    assert direct == 12_000
    refund_now = refund_for_cancellation(paid=booked, policy="moderate", cancelled_by="guest", cancelled_at=NOW)
    assert change_breaks_rule(None, refund_now=refund_now.amount, difference=0) is None
    history = ChangeHistory(refund_now.amount, (0,))
    moved = stay(NOW.date() + 43 * DAY, [12_000, 12_000], booked.booked_at)
    refund = refund_under_rule(
        refund_for_cancellation(paid=moved, policy="moderate", cancelled_by="guest", cancelled_at=NOW + HOUR), history
    )
    assert refund.amount == 12_000  # not 24,400
    assert "changes compose with the policy" in refund.rule


def test_a_cheaper_change_after_a_move_that_would_refund_more_is_refused_naming_the_rule() -> None:
    booked = stay(NOW.date() + 3 * DAY, [12_000, 12_000], NOW - 10 * DAY)
    history = ChangeHistory(12_000, (0,))  # moved 40 days out: the policy alone would allow a refunded change
    moved = stay(NOW.date() + 43 * DAY, [12_000, 12_000], booked.booked_at)
    assert change_refusal(paid=moved, policy="moderate", difference=-12_000, now=NOW) is None
    refusal = change_breaks_rule(history, refund_now=24_400, difference=-12_001 - 400)
    assert refusal is not None and RULE in refusal
    assert change_breaks_rule(history, refund_now=24_400, difference=-12_000) is None  # exactly the bound


def test_what_the_guest_paid_for_a_change_can_come_back() -> None:
    history = ChangeHistory(12_000, (8_000,))  # a night added for 8,000 after the first change
    paid = stay(NOW.date() + 43 * DAY, [12_000, 12_000, 8_000], NOW - 10 * DAY)
    assert guest_cancels(paid, "moderate", NOW, history) == 20_000


def test_a_reduced_refund_keeps_its_lines_adding_up() -> None:
    paid = stay(NOW.date() + 43 * DAY, [12_000, 12_000], NOW - 10 * DAY)
    full = refund_for_cancellation(paid=paid, policy="moderate", cancelled_by="guest", cancelled_at=NOW)
    capped = refund_under_rule(full, ChangeHistory(12_000, (0,)))
    assert (capped.service_fee, capped.nights, capped.amount) == (0, 12_000, 12_000)


def test_no_bound_before_any_change() -> None:
    paid = stay(NOW.date() + 43 * DAY, [12_000, 12_000], NOW - 10 * DAY)
    assert guest_cancels(paid, "moderate", NOW, None) == 24_400


# -- the property -----------------------------------------------------------------------------------

policies = st.sampled_from(["flexible", "moderate", "strict"])
zones = st.sampled_from(["UTC", "America/New_York", "Europe/Berlin", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
a_change = st.tuples(
    st.integers(min_value=0, max_value=20 * 24),  # hours after the previous step
    st.integers(min_value=-10, max_value=60),  # days the check-in moves
    st.lists(st.integers(min_value=1_000, max_value=30_000), min_size=1, max_size=5),  # the new nights' prices
)


@settings(max_examples=400, deadline=None)
@given(
    policy=policies,
    zone=zones,
    booked_days_before=st.integers(min_value=0, max_value=60),
    first_step_hours=st.integers(min_value=0, max_value=60 * 24),
    prices=st.lists(st.integers(min_value=1_000, max_value=30_000), min_size=1, max_size=5),
    changes=st.lists(a_change, max_size=5),
    cancel_after_hours=st.integers(min_value=0, max_value=40 * 24),
)
def test_no_sequence_of_changes_and_a_cancellation_gives_back_more_than_the_rule(
    policy: Policy,
    zone: str,
    booked_days_before: int,
    first_step_hours: int,
    prices: list[int],
    changes: list[tuple[int, int, list[int]]],
    cancel_after_hours: int,
) -> None:
    clock = StayClock(zone)
    booked_at = NOW
    paid = stay(NOW.date() + booked_days_before * DAY, prices, booked_at, clock)
    at = booked_at + first_step_hours * HOUR
    history: ChangeHistory | None = None
    first_change_refund = None
    charged = refunded_for_changes = 0
    for hours, move, new_prices in changes:
        at += hours * HOUR
        moved = stay(paid.nightly[0].date + move * DAY, new_prices, booked_at, clock)
        difference = moved.total - paid.total
        if moved.check_in <= at:
            continue  # the API refuses a stay that has started (stay_date_problems)
        if change_refusal(paid=paid, policy=policy, difference=difference, now=at) is not None:
            continue
        refund_now = refund_for_cancellation(paid=paid, policy=policy, cancelled_by="guest", cancelled_at=at).amount
        if change_breaks_rule(history, refund_now=refund_now, difference=difference) is not None:
            continue
        if history is None:
            first_change_refund = refund_now
            history = ChangeHistory(refund_now)
        history = history.then(difference)
        charged += max(difference, 0)
        refunded_for_changes += max(-difference, 0)
        paid = moved
    at += cancel_after_hours * HOUR
    policy_refund = refund_for_cancellation(paid=paid, policy=policy, cancelled_by="guest", cancelled_at=at)
    refund = refund_under_rule(policy_refund, history)
    assert 0 <= refund.amount <= policy_refund.amount  # never more than the policy gives the stay as it is
    assert refund.amount == refund.nights + refund.cleaning_fee + refund.service_fee + refund.taxes
    assert min(refund.nights, refund.cleaning_fee, refund.service_fee, refund.taxes) >= 0
    if first_change_refund is not None:
        assert refunded_for_changes + refund.amount <= first_change_refund + charged
