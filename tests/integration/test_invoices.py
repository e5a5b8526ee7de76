"""Invoices: numbered without gaps per year even when issued concurrently, and immutable."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from activities.documents import issue_document
from models import Invoice
from tests.factories import make_booking, make_listing, make_user


async def test_concurrent_documents_get_consecutive_numbers_and_retries_reuse_theirs() -> None:
    listing = await make_listing()
    guest = await make_user()
    today = dt.datetime.now(dt.UTC).date()
    bookings = [
        await make_booking(listing, guest, check_in=today + dt.timedelta(10 + 3 * i),
                           check_out=today + dt.timedelta(12 + 3 * i))
        for i in range(8)
    ]  # fmt: skip

    async def issue(booking_id: object) -> str:
        return await issue_document(booking_id=booking_id, kind="invoice", prefix="INV",  # type: ignore[arg-type]
                                    lines=[{"description": "Night", "amount": 100}], total=100, currency="EUR",
                                    billed_to="guest@example.com")  # fmt: skip

    numbers = await asyncio.gather(*[issue(b.id) for b in bookings])
    year = dt.datetime.now(dt.UTC).year
    assert sorted(numbers) == [f"INV-{year}-{n:06d}" for n in range(1, 9)]
    assert await issue(bookings[3].id) == numbers[3]  # a retried activity gets the same document
    assert await Invoice.count() == 8


async def test_issued_invoices_cannot_change() -> None:
    listing = await make_listing()
    booking = await make_booking(
        listing, await make_user(), check_in=dt.date(2030, 1, 1), check_out=dt.date(2030, 1, 3)
    )
    await issue_document(booking_id=booking.id, kind="invoice", prefix="INV", lines=[], total=100, currency="EUR",
                         billed_to="guest@example.com")  # fmt: skip
    with pytest.raises(Exception, match="immutable"):
        await Invoice.update({Invoice.total: 1}, force=True)
    with pytest.raises(Exception, match="immutable"):
        await Invoice.delete(force=True)
    [invoice] = await Invoice.objects()
    assert invoice.total == 100
