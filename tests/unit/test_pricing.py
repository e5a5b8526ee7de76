"""The money rules of SPEC §6 as pure functions: every line in minor units, rounded half-up once."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stayflow.rules.pricing import (
    Fees,
    PriceOverrideRange,
    StayRules,
    quote_json,
    quote_stay,
    share_half_up,
    stay_problems,
    stored_quote,
)

D = dt.date


@pytest.mark.parametrize(
    ("amount", "bps", "expected"),
    [(10_000, 1200, 1200), (1, 5000, 1), (3, 5000, 2), (12_345, 1200, 1481), (12_346, 1250, 1543), (0, 1200, 0),
     (99, 0, 0), (1_04_17, 1200, 1250)],
)  # fmt: skip
def test_share_half_up(amount: int, bps: int, expected: int) -> None:
    assert share_half_up(amount, bps) == expected


def test_quote_uses_override_prices_per_night_and_spec_fees() -> None:
    quote = quote_stay(
        check_in=D(2027, 3, 1),
        check_out=D(2027, 3, 5),
        base_price=10_000,
        cleaning_fee=2_500,
        currency="USD",
        overrides=[PriceOverrideRange(D(2027, 3, 3), D(2027, 3, 4), 15_050)],
        fees=Fees(service_fee_bps=1200, tax_bps=800),
    )
    assert [n.price for n in quote.nightly] == [10_000, 10_000, 15_050, 10_000]
    assert [n.date for n in quote.nightly] == [D(2027, 3, 1), D(2027, 3, 2), D(2027, 3, 3), D(2027, 3, 4)]
    assert quote.nights == 4
    assert quote.subtotal == 45_050
    assert quote.service_fee == 5_406  # 12% of 450.50 = 54.06
    assert quote.taxes == 3_804  # 8% of (450.50 + 25.00) = 38.04
    assert quote.total == 45_050 + 2_500 + 5_406 + 3_804


@given(
    prices=st.lists(st.integers(min_value=100, max_value=1_000_000), min_size=1, max_size=40),
    cleaning=st.integers(min_value=0, max_value=500_000),
    service=st.integers(min_value=0, max_value=3000),
    tax=st.integers(min_value=0, max_value=3000),
)
def test_total_is_the_sum_of_rounded_lines(prices: list[int], cleaning: int, service: int, tax: int) -> None:
    start = D(2027, 1, 1)
    overrides = [
        PriceOverrideRange(start + dt.timedelta(i), start + dt.timedelta(i + 1), p) for i, p in enumerate(prices)
    ]
    quote = quote_stay(check_in=start, check_out=start + dt.timedelta(len(prices)), base_price=1, cleaning_fee=cleaning,
                       currency="USD", overrides=overrides, fees=Fees(service, tax))  # fmt: skip
    assert quote.subtotal == sum(prices)
    assert quote.total == quote.subtotal + quote.cleaning_fee + quote.service_fee + quote.taxes
    # Half-up once at the line level: never more than half a minor unit away from the exact share.
    assert abs(quote.service_fee * 10_000 - quote.subtotal * service) <= 5_000
    assert abs(quote.taxes * 10_000 - (quote.subtotal + cleaning) * tax) <= 5_000


RULES = StayRules(max_guests=4, min_nights=2, max_nights=10)
TODAY = D(2027, 6, 1)


@pytest.mark.parametrize(
    ("check_in", "check_out", "guests", "field"),
    [
        (D(2027, 6, 5), D(2027, 6, 5), 2, "check_out"),
        (D(2027, 6, 5), D(2027, 6, 4), 2, "check_out"),
        (D(2027, 5, 31), D(2027, 6, 3), 2, "check_in"),
        (D(2027, 6, 5), D(2027, 6, 8), 5, "guests"),
        (D(2027, 6, 5), D(2027, 6, 8), 0, "guests"),
        (D(2027, 6, 5), D(2027, 6, 6), 2, "check_out"),
        (D(2027, 6, 5), D(2027, 6, 16), 2, "check_out"),
        (D(2029, 7, 1), D(2029, 7, 4), 2, "check_in"),
    ],
    ids=["zero-nights", "backwards", "past", "too-many-guests", "no-guests", "under-min-nights", "over-max-nights",
         "too-far-ahead"],
)  # fmt: skip
def test_stays_the_rules_refuse(check_in: dt.date, check_out: dt.date, guests: int, field: str) -> None:
    problems = stay_problems(check_in=check_in, check_out=check_out, guests=guests, rules=RULES, today=TODAY)
    assert field in [f for f, _ in problems]


def test_a_good_stay_has_no_problems() -> None:
    assert stay_problems(check_in=TODAY, check_out=D(2027, 6, 4), guests=4, rules=RULES, today=TODAY) == []


def test_a_stored_quote_reads_back_as_it_was_priced() -> None:
    """A booking's price is kept as JSON; what the guest sees and what refunds use is read back
    from it, whether piccolo hands over the JSON text or the decoded dict."""
    quote = quote_stay(
        check_in=D(2030, 3, 1),
        check_out=D(2030, 3, 4),
        base_price=10_000,
        cleaning_fee=2_500,
        currency="EUR",
        overrides=[PriceOverrideRange(D(2030, 3, 2), D(2030, 3, 3), 15_000)],
        fees=Fees(service_fee_bps=1200, tax_bps=1000),
    )
    stored = quote_json(quote)
    assert stored["nightly"][1] == {"date": "2030-03-02", "price": 15_000, "kind": "override"}
    assert stored_quote(stored) == quote
    assert stored_quote(json.dumps(stored)) == quote
