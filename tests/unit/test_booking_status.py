"""The booking-status rules (stayflow/rules/booking_status.py): which status may follow which, and
the groups the API, the activities and the exclusion constraint use. Pure: no database."""

from __future__ import annotations

import pytest

from stayflow.rules.booking_status import (
    CANCELLABLE,
    CAPTURED,
    HOLDS_DATES,
    NEXT,
    UNCONFIRMED,
    WAS_CAPTURED,
    BookingStatus,
    PaymentStatus,
    sources_of,
)

B = BookingStatus
TERMINAL = (B.completed, B.declined, B.expired, B.cancelled, B.payment_failed)


@pytest.fixture(autouse=True)
def clean_database() -> None:
    """Pure rules: no tables to empty, no PostgreSQL needed."""


def test_every_status_has_its_successors_stated() -> None:
    assert set(NEXT) == set(BookingStatus)


@pytest.mark.parametrize("status", TERMINAL)
def test_an_ended_booking_moves_nowhere(status: BookingStatus) -> None:
    assert NEXT[status] == set()


def test_a_booking_can_be_cancelled_until_it_has_ended() -> None:
    assert set(CANCELLABLE) == {B.pending_payment, B.awaiting_host, B.confirmed}
    assert set(CANCELLABLE).isdisjoint(TERMINAL)


def test_a_confirmed_booking_only_completes_or_is_cancelled() -> None:
    assert NEXT[B.confirmed] == {B.completed, B.cancelled}


def test_only_an_unconfirmed_booking_becomes_confirmed() -> None:
    assert set(sources_of(B.confirmed)) == set(UNCONFIRMED) == {B.pending_payment, B.awaiting_host}


def test_a_request_expires_or_is_declined_only_while_awaiting_the_host() -> None:
    assert sources_of(B.expired) == [B.awaiting_host]
    assert sources_of(B.declined) == [B.awaiting_host]


def test_nobody_can_book_the_nights_of_a_live_or_completed_stay() -> None:
    assert set(HOLDS_DATES) == {B.pending_payment, B.awaiting_host, B.confirmed, B.completed}
    assert B.cancelled not in HOLDS_DATES and B.expired not in HOLDS_DATES


def test_a_refunded_payment_was_captured_but_has_nothing_left_to_refund() -> None:
    assert PaymentStatus.refunded in WAS_CAPTURED and PaymentStatus.refunded not in CAPTURED
    assert set(CAPTURED) < set(WAS_CAPTURED)
    assert PaymentStatus.authorized not in WAS_CAPTURED and PaymentStatus.voided not in WAS_CAPTURED
