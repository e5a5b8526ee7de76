"""When a guest may change a booking: never once the stay started; a cheaper stay only while the
policy would still refund the whole stay (the difference is refunded in full)."""

from __future__ import annotations

import datetime as dt

import pytest

from stayflow.rules.changes import change_refusal
from stayflow.rules.pricing import Night
from stayflow.rules.refunds import PaidStay, Policy

CHECK_IN = dt.date(2027, 6, 10)
BOOKED = dt.datetime(2027, 5, 1, 12, tzinfo=dt.UTC)


def paid() -> PaidStay:
    nights = [Night(CHECK_IN + dt.timedelta(days=i), 10_000) for i in range(3)]
    return PaidStay(nightly=nights, cleaning_fee=5_000, service_fee=3_600, taxes=0, booked_at=BOOKED)


def before_check_in(**delta: float) -> dt.datetime:
    return dt.datetime.combine(CHECK_IN, dt.time(15), tzinfo=dt.UTC) - dt.timedelta(**delta)


@pytest.mark.parametrize(
    ("policy", "at", "difference", "allowed"),
    [
        ("flexible", before_check_in(hours=24), -10_000, True),  # the last moment of a full refund
        ("flexible", before_check_in(hours=23), -10_000, False),
        ("flexible", before_check_in(hours=23), 10_000, True),  # costing more is always fine
        ("moderate", before_check_in(days=5), -10_000, True),
        ("moderate", before_check_in(days=4), -10_000, False),
        ("strict", before_check_in(days=20), -10_000, False),  # booked long ago: never a full refund
        ("strict", before_check_in(days=20), 0, True),
    ],
)
def test_a_cheaper_change_only_while_the_policy_would_refund_everything(
    policy: Policy, at: dt.datetime, difference: int, allowed: bool
) -> None:
    refusal = change_refusal(paid=paid(), policy=policy, difference=difference, now=at)
    assert (refusal is None) == allowed
    if refusal is not None:
        assert policy in refusal


def test_no_change_once_the_stay_started() -> None:
    refusal = change_refusal(paid=paid(), policy="flexible", difference=10_000, now=before_check_in(hours=0))
    assert refusal is not None and "started" in refusal
