"""The papers of a booking: invoices (what was sold), receipts (what was paid) and credit notes
(what was given back), numbered without gaps per series and year, immutable once issued.

Each document is issued once per booking, kind and operation (dedupe key), so a retried or
replayed activity answers with the number it issued the first time.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from uuid import UUID

from temporalio import activity

from activities.bookings import booking_and_payment
from activities.changes import change_operation, load_change
from models import Booking, Invoice, InvoiceCounter, Listing, User
from stayflow.rules.pricing import quote_json, stored_quote
from workflows.payloads.booking import BookingRef
from workflows.payloads.change import ChangeRef


def invoice_lines(price: dict[str, Any], title: str) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = [
        {"description": f"{title}: night of {night['date']}", "amount": night["price"]} for night in price["nightly"]
    ]
    lines += [{"description": a["description"], "amount": a["amount"]} for a in price.get("adjustments", ())]
    if price.get("cleaning_fee"):
        lines.append({"description": "Cleaning fee", "amount": price["cleaning_fee"]})
    if price.get("service_fee"):
        lines.append({"description": "Service fee", "amount": price["service_fee"]})
    if price.get("taxes"):
        lines.append({"description": "Taxes", "amount": price["taxes"]})
    return lines


async def issue_document(
    *,
    booking_id: UUID,
    kind: str,
    prefix: str,
    lines: list[dict[str, Any]],
    total: int,
    currency: str,
    billed_to: str,
    operation: str = "",
) -> str:
    """Number and store one document (once per booking, kind and operation, e.g. `change-2`).
    The counter row is locked and bumped in the same transaction as the insert, so a failure
    rolls both back: no gaps, no duplicates."""
    dedupe_key = f"{booking_id}:{kind}" + (f":{operation}" if operation else "")
    existing = await Invoice.select(Invoice.number).where(Invoice.dedupe_key == dedupe_key).first()
    if existing:
        return str(existing["number"])
    year = dt.datetime.now(dt.UTC).year
    series = f"{prefix}-{year}"
    async with Invoice._meta.db.transaction():
        await InvoiceCounter.raw(
            "INSERT INTO invoice_counters (series, last) VALUES ({}, 0) ON CONFLICT DO NOTHING", series
        )
        rows = await InvoiceCounter.raw(
            "UPDATE invoice_counters SET last = last + 1 WHERE series = {} RETURNING last", series
        )
        number = f"{series}-{rows[0]['last']:06d}"
        await Invoice.insert(
            Invoice(
                booking=booking_id,
                kind=kind,
                number=number,
                currency=currency,
                lines=lines,
                total=total,
                billed_to=billed_to,
                dedupe_key=dedupe_key,
            )
        )
    return number


async def _billed_to(booking: Booking) -> str:
    guest = await User.objects().get(User.id == booking.guest)
    assert guest is not None
    return f"{guest.full_name} <{guest.email}>"


async def issue_cancellation_credit_note(
    booking: Booking, *, total: int, currency: str, requested_lines: list[dict[str, Any]]
) -> str:
    """The credit note of a cancellation's refund. Its lines are the ones decided with the refund
    and stored with the cancellation's claim, so they are the same whichever request (the first
    or a repeat of it) reached the process; `requested_lines` only for a claim that stored none."""
    stored = booking.refund_lines
    if isinstance(stored, str):
        stored = json.loads(stored)
    return await issue_document(
        booking_id=booking.id,
        kind="credit_note",
        prefix="CRN",
        lines=stored if stored is not None else requested_lines,
        total=total,
        currency=currency,
        billed_to=await _billed_to(booking),
    )


class DocumentActivities:
    @activity.defn
    async def issue_invoice_and_receipt(self, ref: BookingRef) -> list[str]:
        """The invoice (what was sold) and the receipt (what was paid), numbered without gaps."""
        booking, payment = await booking_and_payment(ref.booking_id)
        listing = await Listing.objects().get(Listing.id == booking.listing)
        assert listing is not None
        price = quote_json(stored_quote(booking.price))
        lines = invoice_lines(price, listing.title)
        billed_to = await _billed_to(booking)
        numbers = []
        for kind, prefix in (("invoice", "INV"), ("receipt", "RCT")):
            numbers.append(
                await issue_document(
                    booking_id=booking.id,
                    kind=kind,
                    prefix=prefix,
                    lines=lines,
                    total=payment.amount,
                    currency=payment.currency,
                    billed_to=billed_to,
                )
            )
        return numbers

    @activity.defn
    async def issue_change_documents(self, ref: ChangeRef) -> list[str]:
        """An invoice and a receipt for the difference charged, or a credit note for the difference
        refunded; their lines say what changed and sum to the difference."""
        booking, change = await load_change(ref)
        if change.difference == 0:
            return []
        new_stay = f"Changed stay, {change.check_in} to {change.check_out}, {change.guests} guests"
        old_stay = f"Previous stay, {change.old_check_in} to {change.old_check_out}, {change.old_guests} guests"
        common: dict[str, Any] = {
            "booking_id": booking.id,
            "currency": change.currency,
            "billed_to": await _billed_to(booking),
            "operation": change_operation(ref.number),
        }
        if change.difference > 0:
            lines = [
                {"description": new_stay, "amount": change.total},
                {"description": f"{old_stay}, already invoiced", "amount": -change.old_total},
            ]
            return [
                await issue_document(kind=kind, prefix=prefix, lines=lines, total=change.difference, **common)
                for kind, prefix in (("invoice", "INV"), ("receipt", "RCT"))
            ]
        lines = [
            {"description": old_stay, "amount": change.old_total},
            {"description": new_stay, "amount": -change.total},
        ]
        return [await issue_document(kind="credit_note", prefix="CRN", lines=lines, total=-change.difference, **common)]
