"""The host's earnings and the payout's release: what the host sees and is paid."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from stayflow.rules.payouts import host_earnings, host_earnings_after_refund, payout_release_at
from stayflow.rules.refunds import Refund, credit_lines
from stayflow.rules.terms import BookingTerms

TERMS = BookingTerms(cancellation_policy="strict", guest_fee_bps=1200, host_fee_bps=300, tax_bps=0, currency="EUR")


def test_earnings_are_nights_and_cleaning_less_the_host_fee_half_up() -> None:
    quote = {"subtotal": 30_050, "cleaning_fee": 5_000, "service_fee": 3_606, "taxes": 0}
    earnings = host_earnings(quote, TERMS)
    assert earnings.fee == 1_052  # 3% of 35,050 = 1,051.5 -> half-up
    assert earnings.amount == 35_050 - 1_052 and earnings.currency == "EUR"


def test_the_guest_service_fee_and_taxes_are_never_the_hosts() -> None:
    base = host_earnings({"subtotal": 10_000, "cleaning_fee": 0}, TERMS)
    assert host_earnings({"subtotal": 10_000, "cleaning_fee": 0, "service_fee": 1_200, "taxes": 900}, TERMS) == base


def test_a_refund_takes_back_the_nights_and_cleaning_it_gives_back() -> None:
    quote = {"subtotal": 30_000, "cleaning_fee": 5_000}
    half = credit_lines(Refund(nights=15_000, cleaning_fee=5_000, service_fee=0, taxes=0, rule="moderate"))
    assert host_earnings_after_refund(quote, TERMS, half).amount == 15_000 - 450
    full = credit_lines(Refund(nights=30_000, cleaning_fee=5_000, service_fee=3_600, taxes=0, rule="host"))
    assert host_earnings_after_refund(quote, TERMS, full).amount == 0
    assert host_earnings_after_refund(quote, TERMS, None) == host_earnings(quote, TERMS)


@given(st.integers(0, 10_000_000), st.integers(0, 1_000_000), st.integers(0, 10_000_000))
def test_earnings_never_exceed_the_base_nor_go_negative(subtotal: int, cleaning: int, refunded: int) -> None:
    lines = [{"description": "Refund of nights", "amount": refunded}]
    after = host_earnings_after_refund({"subtotal": subtotal, "cleaning_fee": cleaning}, TERMS, lines)
    assert 0 <= after.amount <= host_earnings({"subtotal": subtotal, "cleaning_fee": cleaning}, TERMS).amount


def test_release_is_the_platform_delay_after_check_in() -> None:
    check_in = dt.date(2027, 3, 10)
    assert payout_release_at(check_in) == dt.datetime(2027, 3, 11, 15, tzinfo=dt.UTC)
    assert payout_release_at(check_in, 0) == dt.datetime(2027, 3, 10, 15, tzinfo=dt.UTC)
