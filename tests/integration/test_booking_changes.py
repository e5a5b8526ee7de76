"""Changing a booking's dates or guests, end to end: the API prices the new stay, the running
BookingWorkflow carries the change out, the real Stripe SDK talks to the fake Stripe, and the
ledger, invoices and credit notes agree to the cent with what the guest finally paid."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from httpx import AsyncClient

from models import Booking, BookingChange, Invoice, LedgerEntry, Payment
from models.identity import Role
from stayflow.templates import money
from tests.factories import SignedIn, make_change, make_listing, make_user, sign_in, signed_in_user
from tests.helpers import book, cancel, change, confirmed_booking, day, stay, wait_notifications, wait_status


async def booking_row(booking_id: str) -> Booking:
    row = await Booking.objects().get(Booking.id == uuid.UUID(booking_id))
    assert row is not None
    return row


async def money_trail(booking_id: str) -> dict[str, int]:
    """What the ledger and the documents say the guest paid, net."""
    entries = await LedgerEntry.objects().where(LedgerEntry.booking == uuid.UUID(booking_id))
    documents = await Invoice.objects().where(Invoice.booking == uuid.UUID(booking_id))
    for document in documents:
        lines = document.lines if isinstance(document.lines, list) else json.loads(document.lines)
        assert sum(line["amount"] for line in lines) == document.total, document.number
    payments = await Payment.objects().where(Payment.booking == uuid.UUID(booking_id))
    for payment in payments:
        assert 0 <= payment.refunded <= payment.amount
    return {
        "captured": sum(e.amount for e in entries if e.kind == "capture"),
        "refunded": sum(e.amount for e in entries if e.kind == "refund"),
        "invoiced": sum(d.total for d in documents if d.kind == "invoice"),
        "receipted": sum(d.total for d in documents if d.kind == "receipt"),
        "credited": sum(d.total for d in documents if d.kind == "credit_note"),
        "payments_refunded": sum(p.refunded for p in payments),
    }


async def test_a_longer_stay_charges_the_difference_once_and_holds_the_new_night(
    client: AsyncClient, worker: None, fake_stripe: Any
) -> None:
    guest = await signed_in_user(client)
    booking = await confirmed_booking(client, guest, start=10, nights=3, cancellation_policy="flexible")
    before = booking["price"]["total"]
    answer = await change(client, guest, booking["id"], {"check_out": day(14)}, key="change-attempt-0001")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    night, fee = 10_000, 1_200  # one more night at 100.00 and its 12% service fee
    assert body["change"]["status"] == "applied" and body["change"]["difference"] == night + fee
    assert body["booking"]["check_out"] == day(14) and body["booking"]["price"]["total"] == before + night + fee
    assert body["booking"]["paid"] == before + night + fee and body["booking"]["payment"]["amount"] == before
    replay = await change(client, guest, booking["id"], {"check_out": day(14)}, key="change-attempt-0001")
    assert replay.status_code == 200 and replay.json()["change"]["number"] == 1

    intents = fake_stripe.calls("POST", "/v1/payment_intents")
    assert [i.params["amount"] for i in intents] == [str(before), str(night + fee)]
    assert intents[1].idempotency_key == f"booking-{booking['id']}-change-1-authorize"
    captures = fake_stripe.calls("POST", "/capture")
    assert [c.idempotency_key for c in captures] == [
        f"booking-{booking['id']}-capture",
        f"booking-{booking['id']}-change-1-capture",
    ]
    ledger = (await client.get("/api/v1/payments", headers=guest.headers)).json()["items"]
    assert sorted((row["kind"], row["amount"]) for row in ledger) == sorted(
        [("authorization", before), ("capture", before), ("authorization", night + fee), ("capture", night + fee)]
    )
    documents = (await client.get(f"/api/v1/bookings/{booking['id']}/invoice", headers=guest.headers)).json()
    change_invoice = [d for d in documents["documents"] if d["kind"] == "invoice"][-1]
    assert change_invoice["total"] == night + fee and len(documents["documents"]) == 4  # invoice + receipt, twice
    assert await money_trail(booking["id"]) == {
        "captured": before + night + fee,
        "refunded": 0,
        "invoiced": before + night + fee,
        "receipted": before + night + fee,
        "credited": 0,
        "payments_refunded": 0,
    }
    other = await book(client, await signed_in_user(client), stay(booking["listing"], start=13, nights=1))
    assert other.status_code == 409  # the added night is the guest's now
    receipts = await wait_notifications(guest, "payment_receipt", 2)  # the booking's and the change's
    assert any(money(night + fee, booking["price"]["currency"]) in n.body for n in receipts)
    timeline = (await client.get(f"/api/v1/bookings/{booking['id']}/timeline", headers=guest.headers)).json()
    assert "changed" in [s["step"] for s in timeline["steps"]]


async def test_a_shorter_stay_refunds_the_difference_with_a_credit_note_and_frees_the_night(
    client: AsyncClient, worker: None, fake_stripe: Any
) -> None:
    guest = await signed_in_user(client)
    booking = await confirmed_booking(client, guest, start=10, nights=3, cancellation_policy="flexible")
    before = booking["price"]["total"]
    answer = await change(client, guest, booking["id"], {"check_in": day(11)})
    assert answer.status_code == 200, answer.text
    assert answer.json()["change"]["difference"] == -(10_000 + 1_200)
    [refund] = fake_stripe.calls("POST", "/v1/refunds")
    assert refund.params["amount"] == "11200" and refund.idempotency_key == f"booking-{booking['id']}-change-1-refund"
    payment = await Payment.objects().get(Payment.booking == uuid.UUID(booking["id"]))
    assert payment is not None and payment.status == "partially_refunded" and payment.refunded == 11_200
    [credit_note] = await Invoice.objects().where(Invoice.kind == "credit_note")
    assert credit_note.total == 11_200 and credit_note.number.startswith("CRN-")
    trail = await money_trail(booking["id"])
    assert trail["captured"] - trail["refunded"] == before - 11_200 == (await booking_row(booking["id"])).total
    freed = await book(client, await signed_in_user(client), stay(booking["listing"], start=10, nights=1))
    assert freed.status_code == 201, freed.text
    [refunded] = await wait_notifications(guest, "refund_issued", 1)
    assert money(11_200, booking["price"]["currency"]) in refunded.body


async def test_changes_that_cannot_be_made_are_refused_and_change_nothing(
    client: AsyncClient, worker: None, fake_stripe: Any
) -> None:
    host_user = await make_user(role=Role.host)
    guest = await signed_in_user(client)
    home = await make_listing(host_user, instant_book=True, nightly_price=10_000, max_guests=4, max_nights=7)
    created = (await book(client, guest, stay(home, start=10, nights=3))).json()
    await wait_status(created["id"], "confirmed")
    neighbour = (await book(client, await signed_in_user(client), stay(home, start=13, nights=2))).json()
    await wait_status(neighbour["id"], "confirmed")
    calls_before = len(fake_stripe.requests)
    host = await sign_in(client, host_user)

    refusals = [
        (guest, {"check_out": day(14)}, 409),  # onto the neighbour's night
        (guest, {"check_out": day(10)}, 422),  # check-out not after check-in
        (guest, {"check_in": day(-2)}, 422),  # in the past
        (guest, {"guests": 5}, 422),  # over capacity
        (guest, {"check_in": day(3)}, 422),  # more nights than the listing allows
        (guest, {}, 422),  # nothing to change
        (guest, {"check_out": day(13), "nights": 3}, 422),  # unknown field
        (host, {"check_out": day(12)}, 403),  # only the guest changes
        (await signed_in_user(client), {"check_out": day(12)}, 404),  # a stranger does not see it
    ]
    for who, body, status in refusals:
        assert isinstance(who, SignedIn) and isinstance(body, dict)
        answer = await change(client, who, created["id"], body)
        assert answer.status_code == status, (body, answer.text)
    row = await booking_row(created["id"])
    assert (str(row.check_in), str(row.check_out), row.guests) == (day(10), day(13), 2)
    assert await BookingChange.count() == 0 and len(fake_stripe.requests) == calls_before

    assert (await change(client, guest, created["id"], {"guests": 3}, key="same-key-twice")).status_code == 200
    reused = await change(client, guest, created["id"], {"guests": 4}, key="same-key-twice")
    assert reused.status_code == 422 and (await booking_row(created["id"])).guests == 3

    await cancel(client, guest, created["id"])
    await wait_status(created["id"], "cancelled")
    assert (await change(client, guest, created["id"], {"guests": 2})).status_code == 409


async def test_a_declined_card_leaves_the_booking_as_it_was(
    client: AsyncClient, worker: None, fake_stripe: Any
) -> None:
    guest = await signed_in_user(client)
    booking = await confirmed_booking(client, guest, start=10, nights=3)
    # The card on file stopped working after the booking was paid.
    await Booking.update({Booking.payment_method: "pm_card_chargeDeclined"}).where(
        Booking.id == uuid.UUID(booking["id"])
    )
    answer = await change(client, guest, booking["id"], {"check_out": day(15)})
    assert answer.status_code == 402, answer.text
    row = await booking_row(booking["id"])
    assert str(row.check_out) == day(13) and row.total == booking["price"]["total"]
    [failed] = await BookingChange.objects()
    assert failed.status == "failed" and failed.failure_code == "card_declined"
    assert len(fake_stripe.calls("POST", "/capture")) == 1  # only the booking's own
    nights_free = await book(client, await signed_in_user(client), stay(booking["listing"], start=13, nights=2))
    assert nights_free.status_code == 201


async def test_a_cheaper_change_after_the_free_cancellation_deadline_is_refused(
    client: AsyncClient, worker: None
) -> None:
    guest = await signed_in_user(client)
    booking = await confirmed_booking(client, guest, start=10, nights=3, cancellation_policy="strict")
    answer = await change(client, guest, booking["id"], {"check_out": day(12)})
    assert answer.status_code == 409 and "strict" in answer.json()["detail"]
    longer = await change(client, guest, booking["id"], {"check_out": day(14)})
    assert longer.status_code == 200, longer.text


async def test_on_a_request_to_book_listing_the_host_decides_the_change(
    client: AsyncClient, worker: None, fake_stripe: Any
) -> None:
    host_user = await make_user(role=Role.host)
    home = await make_listing(host_user, instant_book=False, nightly_price=10_000)
    guest = await signed_in_user(client)
    host = await sign_in(client, host_user)
    created = (await book(client, guest, stay(home, start=10, nights=3))).json()
    await wait_status(created["id"], "awaiting_host")
    assert (await client.post(f"/api/v1/bookings/{created['id']}/accept", headers=host.headers)).status_code == 200

    asked = await change(client, guest, created["id"], {"check_out": day(15)})
    assert asked.status_code == 202 and asked.json()["change"]["status"] == "awaiting_host", asked.text
    assert (await change(client, guest, created["id"], {"guests": 3})).status_code == 409  # one change at a time
    declined = await client.post(f"/api/v1/bookings/{created['id']}/decline", headers=host.headers)
    assert declined.status_code == 200 and declined.json()["check_out"] == day(13)
    assert len(fake_stripe.calls("POST", "/v1/payment_intents")) == 1  # nothing was charged for it

    asked = await change(client, guest, created["id"], {"check_out": day(14)})
    assert asked.status_code == 202
    accepted = await client.post(f"/api/v1/bookings/{created['id']}/accept", headers=host.headers)
    assert accepted.status_code == 200 and accepted.json()["check_out"] == day(14), accepted.text
    changes = (await client.get(f"/api/v1/bookings/{created['id']}/changes", headers=guest.headers)).json()
    assert [(c["number"], c["status"]) for c in changes["items"]] == [(1, "declined"), (2, "applied")]
    assert changes["next_cursor"] is None
    first = (await client.get(f"/api/v1/bookings/{created['id']}/changes?limit=1", headers=host.headers)).json()
    assert [c["number"] for c in first["items"]] == [1] and first["next_cursor"]
    rest = await client.get(
        f"/api/v1/bookings/{created['id']}/changes",
        params={"limit": 1, "cursor": first["next_cursor"]},
        headers=host.headers,
    )
    assert [c["number"] for c in rest.json()["items"]] == [2] and rest.json()["next_cursor"] is None
    bad = await client.get(f"/api/v1/bookings/{created['id']}/changes?cursor=nope", headers=guest.headers)
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    assert len(fake_stripe.calls("POST", "/capture")) == 2


@pytest.mark.parametrize(
    ("policy", "start", "changes", "canceller"),
    [
        ("flexible", 10, [{"check_out": 15}, {"check_in": 11}], "guest"),
        ("flexible", 10, [{"check_in": 11}, {"check_out": 16}, {"guests": 3}], "host"),
        ("strict", 10, [{"check_out": 14}, {"check_out": 16}], "guest"),  # 50% of the nights back
        ("moderate", 3, [{"check_out": 7}], "guest"),  # late: half the nights, the cleaning fee
    ],
)
async def test_money_is_conserved_through_book_change_and_cancel(
    client: AsyncClient,
    worker: None,
    fake_stripe: Any,
    policy: str,
    start: int,
    changes: list[dict[str, Any]],
    canceller: str,
) -> None:
    host_user = await make_user(role=Role.host)
    home = await make_listing(
        host_user, instant_book=True, nightly_price=12_345, cleaning_fee=4_321, cancellation_policy=policy
    )
    guest = await signed_in_user(client)
    created = (await book(client, guest, stay(home, start=start, nights=3))).json()
    await wait_status(created["id"], "confirmed")
    for step in changes:
        body = {k: day(v) if k in ("check_in", "check_out") else v for k, v in step.items()}
        answer = await change(client, guest, created["id"], body)
        assert answer.status_code == 200, answer.text
    final_total = (await booking_row(created["id"])).total
    who = guest if canceller == "guest" else await sign_in(client, host_user)
    refund = (await cancel(client, who, created["id"])).json()["refund"]["amount"]
    await wait_status(created["id"], "cancelled")

    paid = final_total - refund
    trail = await money_trail(created["id"])
    assert trail["captured"] - trail["refunded"] == paid
    assert trail["invoiced"] - trail["credited"] == paid == trail["receipted"] - trail["credited"]
    assert trail["payments_refunded"] == trail["refunded"]
    # And Stripe's own books say the same.
    intents = [i for i in fake_stripe.intents.values() if i["metadata"].get("booking_id") == created["id"]]
    assert sum(i["amount_received"] for i in intents) == trail["captured"]
    refunds = [r for r in fake_stripe.refunds.values() if r["payment_intent"] in {i["id"] for i in intents}]
    assert sum(r["amount"] for r in refunds) == trail["refunded"]


async def test_a_host_accepting_a_change_the_card_then_declines_hears_it_was_not_made(
    client: AsyncClient, worker: None, fake_stripe: Any
) -> None:
    host_user = await make_user(role=Role.host)
    home = await make_listing(host_user, instant_book=False, nightly_price=10_000)
    guest = await signed_in_user(client)
    host = await sign_in(client, host_user)
    created = (await book(client, guest, stay(home, start=10, nights=3))).json()
    await wait_status(created["id"], "awaiting_host")
    assert (await client.post(f"/api/v1/bookings/{created['id']}/accept", headers=host.headers)).status_code == 200
    asked = await change(client, guest, created["id"], {"check_out": day(15)})
    assert asked.status_code == 202, asked.text
    await Booking.update({Booking.payment_method: "pm_card_chargeDeclined"}).where(
        Booking.id == uuid.UUID(created["id"])
    )
    accepted = await client.post(f"/api/v1/bookings/{created['id']}/accept", headers=host.headers)
    assert accepted.status_code == 409 and "not made" in accepted.json()["detail"], accepted.text
    read = (await client.get(f"/api/v1/bookings/{created['id']}", headers=guest.headers)).json()
    assert read["check_out"] == day(13) and read["paid"] == created["price"]["total"]
    [row] = await BookingChange.objects()
    assert row.status == "failed" and row.failure_code == "card_declined"


async def test_a_change_that_never_reached_the_booking_does_not_block_the_next_one(
    client: AsyncClient, worker: None, fake_stripe: Any
) -> None:
    guest = await signed_in_user(client)
    booking = await confirmed_booking(client, guest, start=10, nights=3)
    # As if the API had stopped between recording a change and handing it to the workflow.
    row = await booking_row(booking["id"])
    stale = await make_change(
        row, check_in=row.check_in, check_out=row.check_out, total=row.total, guests=3,
        created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5),
    )  # fmt: skip
    answer = await change(client, guest, booking["id"], {"check_out": day(14)})
    assert answer.status_code == 200, answer.text
    assert answer.json()["change"]["number"] == 2
    await stale.refresh()
    assert stale.status == "failed" and "never reached" in (stale.status_reason or "")


async def test_a_change_just_recorded_still_blocks_a_second_one(client: AsyncClient, worker: None) -> None:
    guest = await signed_in_user(client)
    booking = await confirmed_booking(client, guest, start=10, nights=3)
    row = await booking_row(booking["id"])
    await make_change(row, check_in=row.check_in, check_out=row.check_out, total=row.total, guests=3)
    answer = await change(client, guest, booking["id"], {"check_out": day(14)})
    assert answer.status_code == 409 and answer.json()["type"].endswith("change-in-progress")


async def test_no_change_while_a_cancellation_is_on_its_way(client: AsyncClient, worker: None) -> None:
    guest = await signed_in_user(client)
    booking = await confirmed_booking(client, guest, start=10, nights=3)
    # As while a cancellation is claimed and its refund decided, before the run has it.
    await Booking.update({Booking.cancellation_key: "cancel-key#abc", Booking.refund_amount: 1}).where(
        Booking.id == uuid.UUID(booking["id"])
    )
    answer = await change(client, guest, booking["id"], {"check_out": day(12)})
    assert answer.status_code == 409 and "being cancelled" in answer.json()["detail"]
    assert await BookingChange.count() == 0
