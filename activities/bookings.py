"""A booking's own rows and what it tells people: status changes, and the notices to guest and
host (recorded once per booking, kind and occurrence, then delivered by the workflow).

Money moves in `activities.payments`, documents are issued in `activities.documents`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notifications import record_notification
from models import Booking, BookingChange, Listing, Message, Notification, Payment, User
from stayflow import templates
from stayflow.rules.booking_status import HOLDS_DATES, UNCONFIRMED, BookingStatus, sources_of
from stayflow.rules.preparation import buffered_window, preparation_conflicts
from stayflow.settings import Settings
from workflows.payloads.booking import BookingNotice, BookingNotices, Placement, PlacementOutcome, StatusChange


async def booking_and_payment(booking_id: str) -> tuple[Booking, Payment]:
    """The booking and its own payment (sequence 0); a non-retryable error when either is missing."""
    booking = await Booking.objects().get(Booking.id == UUID(booking_id))
    payment = await Payment.objects().get((Payment.booking == UUID(booking_id)) & (Payment.sequence == 0))
    if booking is None or payment is None:
        raise ApplicationError(f"no booking {booking_id} with a payment", non_retryable=True)
    return booking, payment


LISTING_NIGHTS_LOCK = 1_316_013
"""The advisory-lock class of a listing's nights (the object is `hashtext(listing id)`)."""


async def preparation_time_conflicts(
    listing_id: UUID, check_in: dt.date, check_out: dt.date, *, except_booking: UUID | None = None
) -> list[dt.date]:
    """Inside a transaction that is about to give a stay of this listing these nights: the nights
    that fall in another stay's preparation time (`stayflow.rules.preparation`), with the listing's
    nights locked until the transaction ends. The exclusion constraint keeps stays from
    overlapping, not from coming closer than the buffer, so writers of a buffered listing's nights
    (placing, moving) take turns; a listing without preparation time takes no lock."""
    row = await Listing.select(Listing.preparation_days).where(Listing.id == listing_id).first()
    preparation_days = row["preparation_days"] if row else 0
    if preparation_days <= 0:
        return []
    await Booking.raw("SELECT pg_advisory_xact_lock({}, hashtext({}))", LISTING_NIGHTS_LOCK, str(listing_id))
    first, last = buffered_window(check_in, check_out, preparation_days)
    near = Booking.select(Booking.check_in, Booking.check_out).where(
        (Booking.listing == listing_id)
        & Booking.status.is_in(list(HOLDS_DATES))
        & (Booking.check_in < last)
        & (Booking.check_out > first)
    )
    if except_booking is not None:
        near = near.where(Booking.id != except_booking)
    others = [(b["check_in"], b["check_out"]) for b in await near]
    if any(a < check_out and check_in < b for a, b in others):
        return []  # a night held outright: the exclusion constraint refuses the write (dates taken)
    return preparation_conflicts(check_in, check_out, others, preparation_days)


def _caused_by(exc: BaseException | None, kind: type[BaseException]) -> bool:
    while exc is not None:
        if isinstance(exc, kind):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class BookingActivities:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @activity.defn
    async def place_booking(self, placement: Placement) -> PlacementOutcome:
        """The booking's first step, run by its own workflow: insert the booking and its payment
        holding the nights, in one transaction, or nothing. Idempotent: a row with this id already
        there (a retried step) is `placed`. The exclusion constraint decides a race for the nights."""
        booking_id, guest_id = UUID(placement.booking_id), UUID(placement.guest_id)
        try:
            async with Booking._meta.db.transaction():
                # One booking request of a guest at a time, so the unconfirmed limit holds under races.
                await Booking.raw("SELECT pg_advisory_xact_lock(hashtext({}))", str(guest_id))
                if await Booking.exists().where(Booking.id == booking_id):
                    return PlacementOutcome("placed")
                unconfirmed = await Booking.select(Booking.check_in, Booking.check_out).where(
                    (Booking.guest == guest_id) & Booking.status.is_in(list(UNCONFIRMED))
                )
                holding = len(unconfirmed)
                if holding >= placement.max_unconfirmed:
                    return PlacementOutcome(
                        "too_many_unconfirmed",
                        f"You already have {holding} unconfirmed bookings; wait for them to settle first.",
                    )
                held = sum((b["check_out"] - b["check_in"]).days for b in unconfirmed)
                check_in, check_out = (
                    dt.date.fromisoformat(placement.check_in),
                    dt.date.fromisoformat(placement.check_out),
                )
                nights = (check_out - check_in).days
                if held + nights > placement.max_unconfirmed_nights:
                    return PlacementOutcome(
                        "too_many_unconfirmed_nights",
                        f"At most {placement.max_unconfirmed_nights} nights may wait unconfirmed per guest; you hold "
                        f"{held} and ask for {nights}. Wait for your other bookings to settle first.",
                    )
                buffer = await preparation_time_conflicts(UUID(placement.listing_id), check_in, check_out)
                if buffer:
                    return PlacementOutcome(
                        "preparation_time",
                        "The host keeps these nights free to prepare the home between stays: "
                        + ", ".join(d.isoformat() for d in buffer)
                        + ".",
                    )
                await Booking(
                    id=booking_id,
                    listing=UUID(placement.listing_id),
                    guest=guest_id,
                    host=UUID(placement.host_id),
                    check_in=check_in,
                    check_out=check_out,
                    guests=placement.guests,
                    status=BookingStatus.pending_payment,
                    price=placement.price,
                    total=placement.total,
                    currency=placement.currency,
                    payment_method=placement.payment_method,
                    idempotency_key=placement.idempotency_key,
                    request_hash=placement.request_hash,
                    review_window_days=placement.review_window_days,
                    terms=placement.terms,
                ).save()
                await Payment(booking=booking_id, amount=placement.total, currency=placement.currency).save()
        except Exception as exc:
            if _caused_by(exc, asyncpg.exceptions.ExclusionViolationError):
                return PlacementOutcome("dates_taken", "Those dates were just taken.")
            if _caused_by(exc, asyncpg.exceptions.UniqueViolationError):  # the key, on a row of another id
                return PlacementOutcome("key_reused", "This Idempotency-Key was used with a different request.")
            raise
        return PlacementOutcome("placed")

    @activity.defn
    async def set_booking_status(self, change: StatusChange) -> str:
        """Move the booking (from any status that may precede the target); returns the status now."""
        now = dt.datetime.now(dt.UTC)
        values: dict[Any, Any] = {Booking.status: change.status, Booking.updated_at: now}
        if change.reason is not None:
            values[Booking.status_reason] = change.reason
        if change.status == BookingStatus.confirmed:
            values[Booking.confirmed_at] = now
        if change.status == BookingStatus.completed:
            values[Booking.completed_at] = now
        await Booking.update(values).where(
            (Booking.id == UUID(change.booking_id)) & Booking.status.is_in(sources_of(change.status))
        )
        row = await Booking.select(Booking.status).where(Booking.id == UUID(change.booking_id)).first()
        assert row is not None
        return str(row["status"])

    @activity.defn
    async def notify_all(self, notices: BookingNotices) -> list[str]:
        """Record one message per kind in one activity (a booking sends several at once): the
        booking, its listing and its people are read once, and everything runs on one connection
        (one transaction: the event's messages are recorded together or not at all; a retry
        records what is missing). Measured by bench/booking.py with py-spy: one kind at a time it
        was the worker's largest step per instant booking, ~60 database round trips."""
        ids: list[str] = []
        async with Booking._meta.db.transaction():
            parties = await _Parties.of(notices.booking_id)
            for kind in notices.kinds:
                notice = BookingNotice(notices.booking_id, kind, notices.reason, notices.event)
                ids += await self._notify(parties, notice)
        return ids

    @activity.defn
    async def notify(self, notice: BookingNotice) -> list[str]:
        """Tell guest or host (`_host` suffix, and requests) about the booking; returns the
        message ids to deliver. A cancellation that refunded money also tells the guest so."""
        return await self._notify(await _Parties.of(notice.booking_id), notice)

    async def _notify(self, parties: _Parties, notice: BookingNotice) -> list[str]:
        booking, listing = parties.booking, parties.listing
        to_host = notice.kind.endswith("_host") or notice.kind == "booking_requested"
        recipient = await parties.user(listing.host if to_host else booking.guest)
        url = f"{self.settings.public_url.rstrip('/')}/api/v1/bookings/{booking.id}"
        kind = notice.kind
        if kind == "booking_confirmed" and await _was_requested(booking.id):
            kind = "booking_accepted"  # the host said yes: that is what the guest waited for

        async def tell(kind: str, dedupe_key: str, amount: int) -> list[str]:
            rendered = templates.booking_email(
                kind=kind,
                full_name=recipient.full_name,
                title=listing.title,
                check_in=str(booking.check_in),
                check_out=str(booking.check_out),
                total=amount,
                currency=booking.currency,
                reason=notice.reason,
                booking_url=url,
            )
            return await record_notification(
                user_id=recipient.id, kind=kind, dedupe_key=dedupe_key, notice=rendered, link=url
            )

        occurrence = f":{notice.event}" if notice.event else ""
        ids = await tell(kind, f"{notice.kind}:{booking.id}{occurrence}", booking.total)
        if notice.kind == "booking_cancelled":
            amount = booking.refund_amount or 0  # what the cancellation gives back (not earlier changes')
            if amount > 0:
                ids += await tell("refund_issued", f"refund_issued:{booking.id}", amount)
        number = notice.event.removeprefix("change-")
        if notice.kind == "booking_modified" and notice.event.startswith("change-") and number.isdigit():
            # The money of the change: a receipt for what was charged, or the refund.
            change = await BookingChange.objects().get(
                (BookingChange.booking == booking.id) & (BookingChange.number == int(number))
            )
            if change is not None and change.difference > 0:
                ids += await tell("payment_receipt", f"payment_receipt:{booking.id}{occurrence}", change.difference)
            elif change is not None and change.difference < 0:
                ids += await tell("refund_issued", f"refund_issued:{booking.id}{occurrence}", -change.difference)
        return ids


class _Parties:
    """A booking, its listing and the people its notices go to, each read once."""

    def __init__(self, booking: Booking, listing: Listing) -> None:
        self.booking = booking
        self.listing = listing
        self._users: dict[Any, User] = {}

    @classmethod
    async def of(cls, booking_id: str) -> _Parties:
        booking = await Booking.objects().get(Booking.id == UUID(booking_id))
        assert booking is not None
        listing = await Listing.objects().get(Listing.id == booking.listing)
        assert listing is not None
        return cls(booking, listing)

    async def user(self, user_id: Any) -> User:
        if user_id not in self._users:
            user = await User.objects().get(User.id == user_id)
            assert user is not None
            self._users[user_id] = user
        return self._users[user_id]


async def _was_requested(booking_id: UUID) -> bool:
    """Whether the host was asked (a request, not an instant booking)."""
    key = f"booking_requested:{booking_id}"
    return bool(
        await Notification.exists().where(Notification.dedupe_key == key)
        or await Message.exists().where(Message.dedupe_key == key)
    )
