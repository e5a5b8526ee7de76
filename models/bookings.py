"""Bookings: a guest holding a listing's nights [check_in, check_out).

PostgreSQL itself keeps two live bookings of one listing from sharing a night: an exclusion
constraint over `daterange(check_in, check_out)` (migration m0003). Payment, invoice and
ledger columns arrive with the bookings work.
"""

from enum import StrEnum

from piccolo.columns import UUID, Date, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from models.identity import User
from models.listings import Listing


class BookingStatus(StrEnum):
    pending_payment = "pending_payment"
    awaiting_host = "awaiting_host"
    confirmed = "confirmed"
    completed = "completed"
    declined = "declined"
    expired = "expired"
    cancelled = "cancelled"
    payment_failed = "payment_failed"


HOLDS_DATES = (
    BookingStatus.pending_payment,
    BookingStatus.awaiting_host,
    BookingStatus.confirmed,
    BookingStatus.completed,
)
"""The statuses whose nights nobody else may book (the exclusion constraint's WHERE)."""


class Booking(Table, tablename="bookings"):
    id = UUID(primary_key=True)
    listing = ForeignKey(Listing, on_delete=OnDelete.restrict)
    guest = ForeignKey(User, on_delete=OnDelete.restrict, index=True)
    check_in = Date()
    check_out = Date()
    guests = Integer()
    status = Varchar(length=20, choices=BookingStatus, default=BookingStatus.pending_payment)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
