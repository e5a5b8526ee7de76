"""The host's monthly statement and the publish gate: the arithmetic a host reads and relies on."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stayflow.rules.payouts import (
    PAYOUTS_NOT_ENABLED,
    StatementBooking,
    host_earnings,
    host_earnings_after_refund,
    payouts_required_to_publish,
    publish_requirement,
    statement_line,
    statement_month,
    statement_totals,
)
from stayflow.rules.refunds import Refund, credit_lines
from stayflow.rules.terms import BookingTerms

TERMS = BookingTerms(cancellation_policy="moderate", guest_fee_bps=1200, host_fee_bps=300, tax_bps=0, currency="EUR")
QUOTE = {"subtotal": 30_000, "cleaning_fee": 5_000, "service_fee": 3_600, "taxes": 0}
RELEASE = dt.datetime(2027, 3, 11, 15, tzinfo=dt.UTC)


def booking(*, accrued: int, transferred: int = 0, reversed_: int = 0, terms: BookingTerms | None = TERMS,
            quote: dict[str, int] = QUOTE, status: str = "paid") -> StatementBooking:  # fmt: skip
    return StatementBooking(
        booking_id="b1", guest_first_name="Zoë", listing_title="山の家", check_in=dt.date(2027, 3, 10),
        check_out=dt.date(2027, 3, 13), quote=quote, terms=terms, currency=terms.currency if terms else "EUR",
        accrued=accrued, transferred=transferred, reversed=reversed_, payout_status=status, release_at=RELEASE,
        paid_at=RELEASE if transferred else None,
    )  # fmt: skip


def test_a_paid_stay_reads_gross_fee_earnings_and_what_was_paid() -> None:
    line = statement_line(booking(accrued=33_950, transferred=33_950))
    assert (line.nights, line.gross, line.host_fee, line.earnings) == (3, 35_000, 1_050, 33_950)
    assert (line.refunded, line.paid, line.reversed, line.net_paid, line.outstanding) == (0, 33_950, 0, 33_950, 0)
    assert line.currency == "EUR" and line.paid_at == RELEASE


def test_a_cancellation_before_release_shows_what_the_refund_took_and_pays_the_rest() -> None:
    half = credit_lines(Refund(nights=15_000, cleaning_fee=5_000, service_fee=0, taxes=0, rule="moderate"))
    owed = host_earnings_after_refund(QUOTE, TERMS, half).amount  # 15,000 less its 3% fee
    line = statement_line(booking(accrued=owed, transferred=owed))
    assert owed == 14_550 and line.earnings == 33_950 and line.refunded == 33_950 - 14_550
    assert line.net_paid == 14_550 and line.outstanding == 0


def test_a_refund_after_release_is_a_reversal_and_nothing_is_outstanding() -> None:
    line = statement_line(booking(accrued=0, transferred=33_950, reversed_=33_950, status="reversed"))
    assert (line.refunded, line.paid, line.reversed, line.net_paid, line.outstanding) == (33_950, 33_950, 33_950, 0, 0)


def test_a_payout_not_yet_released_is_outstanding() -> None:
    line = statement_line(booking(accrued=33_950, status="scheduled"))
    assert line.net_paid == 0 and line.outstanding == 33_950 and line.paid_at is None


def test_a_booking_without_frozen_terms_earns_what_the_books_say_nothing() -> None:
    line = statement_line(booking(accrued=0, terms=None, status="cancelled"))
    assert (line.gross, line.host_fee, line.earnings, line.refunded, line.outstanding) == (0, 0, 0, 0, 0)


@given(
    st.integers(0, 5_000_000), st.integers(0, 500_000), st.integers(0, 10_000), st.integers(0, 5_000_000),
    st.booleans(), st.integers(0, 5_000_000),
)  # fmt: skip
def test_earnings_less_refunds_is_always_paid_plus_outstanding(
    subtotal: int, cleaning: int, fee_bps: int, refunded_nights: int, paid: bool, reversed_: int
) -> None:
    terms = BookingTerms(cancellation_policy="strict", guest_fee_bps=0, host_fee_bps=fee_bps, tax_bps=0,
                         currency="JPY")  # fmt: skip
    quote = {"subtotal": subtotal, "cleaning_fee": cleaning}
    lines = [{"description": "Refund of nights", "amount": min(refunded_nights, subtotal)}]
    owed = host_earnings_after_refund(quote, terms, lines).amount
    transferred = host_earnings(quote, terms).amount if paid else 0
    taken_back = min(reversed_, transferred)
    line = statement_line(booking(accrued=owed, transferred=transferred, reversed_=taken_back, terms=terms,
                                  quote=quote))  # fmt: skip
    assert line.earnings - line.refunded == line.net_paid + line.outstanding == owed
    assert line.gross == line.host_fee + line.earnings and 0 <= line.refunded <= line.earnings


def test_totals_are_per_currency_and_never_mixed() -> None:
    eur = statement_line(booking(accrued=33_950, transferred=33_950))
    eur2 = statement_line(booking(accrued=33_950, status="scheduled"))
    jpy_terms = BookingTerms(cancellation_policy="flexible", guest_fee_bps=0, host_fee_bps=300, tax_bps=0,
                             currency="JPY")  # fmt: skip
    jpy = statement_line(booking(accrued=9_700, transferred=9_700, terms=jpy_terms,
                                 quote={"subtotal": 10_000, "cleaning_fee": 0}))  # fmt: skip
    totals = {t.currency: t for t in statement_totals([jpy, eur, eur2])}
    assert list(totals) == ["EUR", "JPY"]
    assert totals["EUR"].bookings == 2 and totals["EUR"].earnings == 67_900
    assert totals["EUR"].net_paid == 33_950 and totals["EUR"].outstanding == 33_950
    assert totals["JPY"].gross == 10_000 and totals["JPY"].host_fee == 300 and totals["JPY"].net_paid == 9_700
    assert statement_totals([]) == []


def test_a_month_is_its_utc_instants_and_anything_else_is_refused() -> None:
    assert statement_month("2027-03") == (
        dt.datetime(2027, 3, 1, tzinfo=dt.UTC),
        dt.datetime(2027, 4, 1, tzinfo=dt.UTC),
    )
    assert statement_month("2027-12")[1] == dt.datetime(2028, 1, 1, tzinfo=dt.UTC)
    fullwidth = "\uff12\uff10\uff12\uff17-03"  # digits, but not ASCII ones
    for bad in ("2027-13", "2027-00", "2027-3", "27-03", "2027-03-01", "march", "", "1999-12", fullwidth):
        with pytest.raises(ValueError):
            statement_month(bad)


def test_publishing_needs_payouts_in_production_by_default_and_as_the_admin_sets_it() -> None:
    assert payouts_required_to_publish(None, "production") is True
    assert payouts_required_to_publish(None, "dev") is False and payouts_required_to_publish(None, "test") is False
    assert (
        payouts_required_to_publish(True, "test") is True and payouts_required_to_publish(False, "production") is False
    )
    assert publish_requirement(True, False) == PAYOUTS_NOT_ENABLED == "payouts_not_enabled"
    assert publish_requirement(True, True) is None and publish_requirement(False, False) is None
