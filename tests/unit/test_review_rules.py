"""Who may review what, and when (stayflow/rules/reviews.py). Pure: no database."""

from __future__ import annotations

import datetime as dt

import pytest

from stayflow.rules.reviews import CATEGORIES, REMINDER_DAYS, categories_problem, review_problem, window_closes
from stayflow.rules.roles import Role

CHECKED_OUT = dt.datetime(2026, 5, 3, 11, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clean_database() -> None:
    """Pure rules: no tables to empty, no PostgreSQL needed."""


@pytest.mark.parametrize("status", ["pending_payment", "awaiting_host", "confirmed", "cancelled", "expired"])
def test_no_review_before_the_stay_is_completed(status: str) -> None:
    problem = review_problem(status=status, completed_at=CHECKED_OUT, now=CHECKED_OUT, window_days=14)
    assert problem == "reviews open after check-out, when the stay is completed"


def test_a_completed_stay_without_its_check_out_time_is_not_reviewable() -> None:
    assert review_problem(status="completed", completed_at=None, now=CHECKED_OUT, window_days=14) is not None


def test_reviews_are_open_for_the_window_after_check_out_and_not_a_moment_longer() -> None:
    last_moment = CHECKED_OUT + dt.timedelta(days=14) - dt.timedelta(seconds=1)
    assert review_problem(status="completed", completed_at=CHECKED_OUT, now=CHECKED_OUT, window_days=14) is None
    assert review_problem(status="completed", completed_at=CHECKED_OUT, now=last_moment, window_days=14) is None
    closed = review_problem(status="completed", completed_at=CHECKED_OUT, now=window_closes(CHECKED_OUT, 14),
                            window_days=14)  # fmt: skip
    assert closed == "the 14-day review window has closed"


def test_a_guest_rates_every_category_from_1_to_5() -> None:
    assert categories_problem(Role.guest, dict.fromkeys(CATEGORIES, 5)) is None
    assert categories_problem(Role.guest, None) is not None
    assert categories_problem(Role.guest, dict.fromkeys(CATEGORIES[:-1], 4)) is not None
    assert categories_problem(Role.guest, {**dict.fromkeys(CATEGORIES, 4), "wifi": 3}) is not None
    assert (
        categories_problem(Role.guest, {**dict.fromkeys(CATEGORIES, 4), "value": 6}) == "every category is rated 1 to 5"
    )
    assert (
        categories_problem(Role.guest, {**dict.fromkeys(CATEGORIES, 4), "value": 0}) == "every category is rated 1 to 5"
    )


def test_a_host_reviews_a_guest_without_categories() -> None:
    assert categories_problem(Role.host, None) is None
    assert categories_problem(Role.host, {}) is None
    assert categories_problem(Role.host, dict.fromkeys(CATEGORIES, 5)) == "a host's review of a guest has no categories"


def test_both_reminders_fall_inside_the_default_window() -> None:
    assert REMINDER_DAYS == (1, 7) and all(day < 14 for day in REMINDER_DAYS)
