"""Issue 13's pricing rules in the one pricing function: length-of-stay discounts, the weekend
price, the extra-guest fee and seasonal minimum stays, each its own line, to the cent."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stayflow.rules.fees import host_earnings
from stayflow.rules.pricing import (
    Fees,
    PriceOverrideRange,
    PricingRules,
    Quote,
    Season,
    StayRules,
    length_discount,
    nights_as_paid,
    pricing_rule_problems,
    quote_json,
    quote_stay,
    season_problems,
    stay_problems,
    stored_quote,
)
from stayflow.rules.refunds import PaidStay, refund_for_cancellation

D = dt.date
MONDAY = D(2027, 3, 1)
FEES = Fees(service_fee_bps=1200, tax_bps=800)
RULES = PricingRules(
    weekly_discount_percent=15, monthly_discount_percent=30, weekend_price=12_577, guests_included=2,
    extra_guest_fee=1_500,
)  # fmt: skip


def quote(nights: int, *, guests: int = 2, rules: PricingRules = RULES, check_in: dt.date = MONDAY,
          overrides: list[PriceOverrideRange] | None = None) -> Quote:  # fmt: skip
    return quote_stay(check_in=check_in, check_out=check_in + dt.timedelta(nights), base_price=10_033,
                      cleaning_fee=5_000, currency="EUR", overrides=overrides or [], fees=FEES, guests=guests,
                      rules=rules)  # fmt: skip


def test_a_week_with_a_weekend_gets_the_weekly_discount_to_the_cent() -> None:
    week = quote(7)
    # Monday to Monday: Friday and Saturday nights at the weekend price.
    assert [(n.price, n.kind) for n in week.nightly] == [(10_033, "base")] * 4 + [(12_577, "weekend")] * 2 + [
        (10_033, "base")
    ]
    nights = 5 * 10_033 + 2 * 12_577
    assert nights == 75_319
    [discount] = week.adjustments
    assert (discount.kind, discount.percent, discount.base) == ("weekly_discount", 15, 75_319)
    assert discount.amount == -11_298  # 15% of 753.19 = 112.9785 -> 112.98
    assert week.subtotal == 75_319 - 11_298 == 64_021
    assert week.service_fee == 7_683  # 12% of 640.21 = 76.8252 -> 76.83
    assert week.taxes == 5_522  # 8% of (640.21 + 50.00) = 55.2168 -> 55.22
    assert week.total == 64_021 + 5_000 + 7_683 + 5_522 == 82_226
    assert week.total == sum(n.price for n in week.nightly) + sum(a.amount for a in week.adjustments) + 5_000 + (
        week.service_fee + week.taxes
    )


def test_six_nights_get_no_discount() -> None:
    assert quote(6).adjustments == []


def test_28_nights_get_the_monthly_discount_instead_of_the_weekly() -> None:
    month = quote(28)
    nights = 20 * 10_033 + 8 * 12_577  # four weekends
    assert sum(n.price for n in month.nightly) == nights == 301_276
    [discount] = month.adjustments
    assert (discount.kind, discount.percent) == ("monthly_discount", 30)
    assert discount.amount == -90_383  # 30% of 3,012.76 = 903.828 -> 903.83
    assert month.subtotal == 301_276 - 90_383 == 210_893
    assert month.service_fee == 25_307  # 12% of 2,108.93 = 253.0716 -> 253.07
    assert month.taxes == 17_271  # 8% of 2,158.93 = 172.7144 -> 172.71
    assert month.total == 210_893 + 5_000 + 25_307 + 17_271


def test_without_a_monthly_discount_a_long_stay_keeps_the_weekly_one() -> None:
    only_weekly = PricingRules(weekly_discount_percent=10)
    assert length_discount(28, only_weekly) == ("weekly_discount", 10)
    assert length_discount(7, only_weekly) == ("weekly_discount", 10)
    assert length_discount(6, only_weekly) is None
    assert length_discount(28, PricingRules(monthly_discount_percent=20)) == ("monthly_discount", 20)
    assert length_discount(27, PricingRules(monthly_discount_percent=20)) is None


def test_extra_guests_pay_per_night_above_those_included() -> None:
    three_nights = quote(3, guests=5)
    [extra] = three_nights.adjustments
    assert (extra.kind, extra.guests, extra.fee_per_night, extra.nights) == ("extra_guests", 3, 1_500, 3)
    assert extra.amount == 3 * 1_500 * 3 == 13_500
    assert three_nights.subtotal == 3 * 10_033 + 13_500 == 43_599
    assert three_nights.service_fee == 5_232  # 12% of 435.99 = 52.3188 -> 52.32
    assert quote(3, guests=2).adjustments == [] and quote(3, guests=1).adjustments == []


def test_the_discount_is_of_the_nights_not_of_the_extra_guest_fee() -> None:
    week = quote(7, guests=4)
    discount, extra = week.adjustments
    assert discount.amount == -11_298 and discount.base == 75_319
    assert extra.amount == 2 * 1_500 * 7
    assert week.subtotal == 75_319 - 11_298 + 21_000


def test_price_overrides_win_over_the_weekend_price() -> None:
    friday = MONDAY + dt.timedelta(4)
    week = quote(7, overrides=[PriceOverrideRange(friday, friday + dt.timedelta(1), 20_000)])
    assert [(n.price, n.kind) for n in week.nightly][4:6] == [(20_000, "override"), (12_577, "weekend")]


def test_without_rules_a_quote_is_as_before() -> None:
    plain = quote(30, guests=6, rules=PricingRules())
    assert plain.adjustments == [] and plain.subtotal == 30 * 10_033
    assert {n.kind for n in plain.nightly} == {"base"}


def test_the_host_fee_is_on_the_adjusted_nights_and_cleaning() -> None:
    week = quote(7, guests=4)
    earnings = host_earnings(week, 300)
    assert earnings.fee == 2_701  # 3% of (850.21 + 50.00) = 27.0063 -> 27.01
    assert earnings.amount == week.subtotal + 5_000 - 2_701


def test_a_stored_quote_keeps_its_adjustments_and_old_ones_read_without() -> None:
    week = quote(7, guests=4)
    stored = quote_json(week)
    assert stored["adjustments"][0] == {"kind": "weekly_discount", "amount": -11_298, "percent": 15, "base": 75_319,
                                        "description": "15% off stays of 7 nights or more"}  # fmt: skip
    assert stored["nightly"][4] == {"date": "2027-03-05", "price": 12_577, "kind": "weekend"}
    assert stored_quote(stored) == week
    old = {"nights": 1, "nightly": [{"date": "2026-01-01", "price": 9_000}], "subtotal": 9_000, "cleaning_fee": 0,
           "service_fee": 1_080, "taxes": 0, "total": 10_080, "currency": "EUR"}  # fmt: skip
    read = stored_quote(old)
    assert read.adjustments == [] and read.nightly[0].kind is None and read.total == 10_080
    assert nights_as_paid(read) == read.nightly


def test_refunds_of_a_discounted_stay_give_back_what_was_paid_not_the_list_price() -> None:
    week = quote(7, guests=4)
    paid = PaidStay(nightly=nights_as_paid(week), cleaning_fee=week.cleaning_fee, service_fee=week.service_fee,
                    taxes=week.taxes, booked_at=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))  # fmt: skip
    assert paid.total == week.total
    everything = refund_for_cancellation(paid=paid, policy="strict", cancelled_by="host",
                                         cancelled_at=dt.datetime(2027, 2, 1, tzinfo=dt.UTC))  # fmt: skip
    assert everything.amount == week.total


rules_strategy = st.builds(
    PricingRules,
    weekly_discount_percent=st.integers(0, 100),
    monthly_discount_percent=st.integers(0, 100),
    weekend_price=st.none() | st.integers(100, 1_000_000),
    guests_included=st.integers(1, 16),
    extra_guest_fee=st.integers(0, 100_000),
).filter(lambda r: not pricing_rule_problems(r, max_guests=16))


@given(
    rules=rules_strategy,
    nights=st.integers(1, 60),
    guests=st.integers(1, 16),
    base=st.integers(100, 1_000_000),
    cleaning=st.integers(0, 500_000),
    service=st.integers(0, 3000),
    tax=st.integers(0, 3000),
    start=st.dates(D(2027, 1, 1), D(2028, 12, 31)),
)
def test_every_quote_is_the_sum_of_its_lines_and_never_negative(
    rules: PricingRules, nights: int, guests: int, base: int, cleaning: int, service: int, tax: int, start: dt.date
) -> None:
    q = quote_stay(check_in=start, check_out=start + dt.timedelta(nights), base_price=base, cleaning_fee=cleaning,
                   currency="EUR", overrides=[], fees=Fees(service, tax), guests=guests, rules=rules)  # fmt: skip
    nights_price = sum(n.price for n in q.nightly)
    assert q.subtotal == nights_price + sum(a.amount for a in q.adjustments)
    assert q.total == q.subtotal + q.cleaning_fee + q.service_fee + q.taxes
    assert q.subtotal >= 0 and q.total >= 0 and q.service_fee >= 0 and q.taxes >= 0
    assert abs(q.service_fee * 10_000 - q.subtotal * service) <= 5_000
    assert abs(q.taxes * 10_000 - (q.subtotal + cleaning) * tax) <= 5_000
    assert len(q.adjustments) == len({a.kind for a in q.adjustments})  # never weekly and monthly both
    for a in q.adjustments:
        if a.kind != "extra_guests":
            assert a.base == nights_price
            assert abs(-a.amount * 100 - nights_price * (a.percent or 0)) <= 50  # half-up, once
    # Each night's share of the adjustments sums exactly to the subtotal; no night is negative.
    shares = nights_as_paid(q)
    assert sum(n.price for n in shares) == q.subtotal and all(n.price >= 0 for n in shares)
    assert stored_quote(quote_json(q)) == q


@given(rules=rules_strategy, nights=st.integers(1, 400))
def test_a_longer_stay_never_gets_a_smaller_percent_off(rules: PricingRules, nights: int) -> None:
    def off(n: int) -> int:
        found = length_discount(n, rules)
        return found[1] if found else 0

    assert off(nights + 1) >= off(nights)
    assert off(28) >= off(7)


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        (PricingRules(weekly_discount_percent=101), "weekly_discount_percent"),
        (PricingRules(monthly_discount_percent=-1), "monthly_discount_percent"),
        (PricingRules(weekly_discount_percent=20, monthly_discount_percent=10), "weekly_discount_percent"),
        (PricingRules(extra_guest_fee=-1), "extra_guest_fee"),
        (PricingRules(weekend_price=0), "weekend_price"),
        (PricingRules(guests_included=5), "guests_included"),
        (PricingRules(guests_included=0), "guests_included"),
    ],
    ids=["discount-over-100", "negative-discount", "weekly-over-monthly", "negative-fee", "free-weekend",
         "more-included-than-allowed", "none-included"],
)  # fmt: skip
def test_pricing_rules_a_listing_may_not_have(rules: PricingRules, field: str) -> None:
    assert field in [f for f, _ in pricing_rule_problems(rules, max_guests=4)]


def test_weekly_only_and_equal_discounts_are_fine() -> None:
    assert pricing_rule_problems(PricingRules(weekly_discount_percent=20), max_guests=4) == []
    assert (
        pricing_rule_problems(PricingRules(weekly_discount_percent=20, monthly_discount_percent=20), max_guests=4) == []
    )


TODAY = D(2027, 6, 1)
SUMMER = Season(D(2027, 7, 1), D(2027, 9, 1), 5)


@pytest.mark.parametrize(
    ("seasons", "field"),
    [
        ([Season(D(2027, 7, 10), D(2027, 7, 1), 3)], "seasons[0].end"),
        ([Season(D(2027, 5, 1), D(2027, 6, 1), 3)], "seasons[0].end"),
        ([Season(D(2027, 7, 1), D(2027, 8, 1), 31)], "seasons[0].min_nights"),
        ([Season(D(2027, 7, 1), D(2027, 8, 1), 3), Season(D(2027, 7, 31), D(2027, 9, 1), 2)], "seasons"),
    ],
    ids=["end-before-start", "ended", "minimum-over-max-nights", "overlapping"],
)
def test_seasons_a_listing_may_not_have(seasons: list[Season], field: str) -> None:
    assert field in [f for f, _ in season_problems(seasons, max_nights=30, today=TODAY)]


def test_seasons_side_by_side_are_fine() -> None:
    seasons = [Season(D(2027, 7, 1), D(2027, 8, 1), 3), Season(D(2027, 8, 1), D(2027, 9, 1), 30)]
    assert season_problems(seasons, max_nights=30, today=TODAY) == []


def test_a_stay_needs_the_minimum_of_its_check_in_nights_season() -> None:
    rules = StayRules(max_guests=4, min_nights=2, max_nights=30, seasons=[SUMMER])
    in_season = stay_problems(check_in=D(2027, 7, 10), check_out=D(2027, 7, 14), guests=2, rules=rules, today=TODAY)
    assert in_season == [("check_out", "this home needs at least 5 nights for check-in from 2027-07-01 to 2027-08-31")]
    assert stay_problems(check_in=D(2027, 7, 10), check_out=D(2027, 7, 15), guests=2, rules=rules, today=TODAY) == []
    # Checking in the night before the season starts: the listing's own minimum, though the stay runs into it.
    assert stay_problems(check_in=D(2027, 6, 30), check_out=D(2027, 7, 2), guests=2, rules=rules, today=TODAY) == []
    # The season's last check-in night is the day before its end; the end is the listing's again.
    assert stay_problems(check_in=D(2027, 9, 1), check_out=D(2027, 9, 3), guests=2, rules=rules, today=TODAY) == []
    assert stay_problems(check_in=D(2027, 8, 31), check_out=D(2027, 9, 3), guests=2, rules=rules, today=TODAY) != []


def test_a_far_moved_weekend_price_sends_a_published_listing_back_to_review() -> None:
    from stayflow.rules.listing_edits import material_changes

    current = {"nightly_price": 10_000, "weekend_price": None}
    assert material_changes(current, {"weekend_price": 12_900}) == []
    assert material_changes(current, {"weekend_price": 13_100}) == ["weekend_price"]
    assert material_changes(current | {"weekend_price": 13_000}, {"weekend_price": 16_000}) == []
    assert material_changes(current | {"weekend_price": 13_000}, {"weekend_price": None}) == []
