"""Admin bookings: search, one booking with its money, cancellation with a full refund (audited)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from httpx import AsyncClient

from models import AuditEntry, Booking, LedgerEntry, Payment
from models.identity import Role
from tests.factories import make_booking, make_listing, make_user, signed_in_user
from tests.helpers import TODAY, audit_log, book, confirmed_booking, stay, wait_status


async def test_admin_cancels_a_strict_stay_late_and_the_guest_gets_everything_back(
    client: AsyncClient, worker: None, fake_stripe: Any
) -> None:
    admin = await signed_in_user(client, role=Role.admin)
    guest = await signed_in_user(client)
    # Strict, two days before check-in: the guest cancelling would get no nights back.
    booking = await confirmed_booking(client, guest, start=2, cancellation_policy="strict")
    total = booking["price"]["total"]
    path = f"/api/v1/admin/bookings/{booking['id']}/cancel"
    key = {"Idempotency-Key": "admin-cancel-0001"}
    no_reason = await client.post(path, headers=admin.headers | key, json={})
    assert no_reason.status_code == 422 and await AuditEntry.count() == 0

    answer = await client.post(path, headers=admin.headers | key, json={"reason": "Host listing was a scam"})
    assert answer.status_code == 202, answer.text
    assert answer.json()["refund"]["amount"] == total and answer.json()["refund"]["method"] == "refund"
    replay = await client.post(path, headers=admin.headers | key, json={"reason": "Host listing was a scam"})
    assert replay.status_code == 202 and replay.json()["refund"]["amount"] == total
    await wait_status(booking["id"], "cancelled")
    again = await client.post(
        path, headers=admin.headers | {"Idempotency-Key": "admin-cancel-0002"}, json={"reason": "x"}
    )
    assert again.status_code == 409

    [refund] = fake_stripe.calls("POST", "/v1/refunds")
    assert refund.params["amount"] == str(total)
    payment = await Payment.objects().get(Payment.booking == uuid.UUID(booking["id"]))
    assert payment is not None and payment.status == "refunded"
    ledger = [(e.kind, e.amount) for e in await LedgerEntry.objects().order_by(LedgerEntry.created_at)]
    assert ledger == [("authorization", total), ("capture", total), ("refund", total)]

    [entry] = await audit_log(client, admin, target_type="booking", target_id=booking["id"])
    assert entry["action"] == "booking.cancel" and entry["reason"] == "Host listing was a scam"
    assert entry["before"] == {"status": "confirmed", "payment_status": "completed"}
    assert entry["after"] == {"cancelled_by": "admin", "refund_amount": total, "currency": "EUR"}

    detail = (await client.get(f"/api/v1/admin/bookings/{booking['id']}", headers=admin.headers)).json()
    assert detail["booking"]["status"] == "cancelled" and detail["cancelled_by"] == "admin"
    assert detail["refund_amount"] == total
    assert [(line["kind"], line["amount"]) for line in detail["ledger"]] == ledger


async def test_an_admin_cancelling_through_the_guest_route_is_audited_too(client: AsyncClient, worker: None) -> None:
    admin = await signed_in_user(client, role=Role.admin)
    booking = await confirmed_booking(client, await signed_in_user(client), start=12)
    answer = await client.post(
        f"/api/v1/bookings/{booking['id']}/cancel",
        headers=admin.headers | {"Idempotency-Key": str(uuid.uuid4())},
        json={"reason": "Duplicate booking"},
    )
    assert answer.status_code == 202
    [entry] = await audit_log(client, admin, action="booking.cancel")
    assert entry["target_id"] == booking["id"] and entry["reason"] == "Duplicate booking"
    await wait_status(booking["id"], "cancelled")


async def test_admin_searches_bookings(client: AsyncClient) -> None:
    admin = await signed_in_user(client, role=Role.admin)
    host = await make_user(role=Role.host)
    ana, ben = await make_user(), await make_user()
    loft, cabin = await make_listing(host), await make_listing(title="A quiet cabin in the woods")

    def days(n: int) -> dt.date:
        return TODAY + dt.timedelta(days=n)

    june = await make_booking(loft, ana, check_in=days(10), check_out=days(13))
    july = await make_booking(loft, ben, check_in=days(40), check_out=days(45))
    cabin_stay = await make_booking(cabin, ana, check_in=days(11), check_out=days(12))
    await Booking.update({Booking.status: "confirmed"}).where(Booking.id.is_in([june.id, cabin_stay.id]))

    async def ids(**params: Any) -> set[str]:
        response = await client.get("/api/v1/admin/bookings", headers=admin.headers, params=params)
        assert response.status_code == 200, response.text
        return {b["id"] for b in response.json()["items"]}

    everything = {str(june.id), str(july.id), str(cabin_stay.id)}
    assert await ids() == everything
    assert await ids(status="confirmed") == {str(june.id), str(cabin_stay.id)}
    assert await ids(listing_id=str(loft.id)) == {str(june.id), str(july.id)}
    assert await ids(guest_id=str(ana.id)) == {str(june.id), str(cabin_stay.id)}
    assert await ids(host_id=str(host.id)) == {str(june.id), str(july.id)}
    assert await ids(**{"from": days(12).isoformat(), "to": days(41).isoformat()}) == {str(june.id), str(july.id)}
    assert await ids(**{"from": days(13).isoformat(), "to": days(40).isoformat()}) == set()  # check-out is not a night
    assert await ids(guest_id=str(ana.id), status="pending_payment") == set()

    pages, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/admin/bookings", headers=admin.headers, params=params)).json()
        pages.append([b["id"] for b in page["items"]])
        if (cursor := page["next_cursor"]) is None:
            break
    assert [len(p) for p in pages] == [2, 1] and {i for p in pages for i in p} == everything

    bad = await client.get("/api/v1/admin/bookings", headers=admin.headers, params={"status": "lost"})
    assert bad.status_code in (400, 422)
    backwards = await client.get(
        "/api/v1/admin/bookings", headers=admin.headers, params={"from": days(5).isoformat(), "to": days(1).isoformat()}
    )
    assert backwards.status_code == 422
    missing = await client.get(f"/api/v1/admin/bookings/{uuid.uuid4()}", headers=admin.headers)
    assert missing.status_code == 404


async def test_a_cancellation_the_booking_process_refuses_is_withdrawn_and_audited(client: AsyncClient) -> None:
    admin = await signed_in_user(client, role=Role.admin)
    listing = await make_listing()
    # A booking whose process is gone (never started): Temporal refuses the cancellation.
    orphan = await make_booking(
        listing, await make_user(), check_in=TODAY + dt.timedelta(days=5), check_out=TODAY + dt.timedelta(days=7)
    )
    nights = [{"date": (orphan.check_in + dt.timedelta(days=n)).isoformat(), "price": 18_050} for n in range(2)]
    price = {"nights": 2, "nightly": nights, "subtotal": 36_100, "cleaning_fee": 0, "service_fee": 0, "taxes": 0,
             "total": 36_100, "currency": "EUR"}  # fmt: skip
    await Booking.update({Booking.status: "confirmed", Booking.price: price}).where(Booking.id == orphan.id)
    refused = await client.post(
        f"/api/v1/admin/bookings/{orphan.id}/cancel",
        headers=admin.headers | {"Idempotency-Key": str(uuid.uuid4())},
        json={"reason": "Fraudulent card"},
    )
    assert refused.status_code == 409, refused.text
    stored = await Booking.objects().get(Booking.id == orphan.id)
    assert stored is not None and stored.status == "confirmed"
    assert (stored.cancellation_key, stored.cancelled_by, stored.refund_amount) == (None, None, None)
    entries = await audit_log(client, admin, target_type="booking", target_id=str(orphan.id))
    assert [e["action"] for e in entries] == ["booking.cancel_refused", "booking.cancel"]
    assert entries[0]["after"] == {"cancelled_by": None, "refund_amount": None}


async def test_a_cancellation_the_booking_run_refuses_is_a_409_not_a_silent_202(
    client: AsyncClient, worker: None
) -> None:
    """The run's validator refuses a refund decided on a payment it has not captured: the caller
    must hear it (before, the refusal came back as the update's outcome and was answered 202)."""
    admin = await signed_in_user(client, role=Role.admin)
    home = await make_listing(instant_book=False)
    created = (await book(client, await signed_in_user(client), stay(home))).json()
    await wait_status(created["id"], "awaiting_host")
    # The database says captured while the run is still waiting for the host (a capture it has not seen).
    await Payment.update({Payment.status: "completed"}).where(Payment.booking == uuid.UUID(created["id"]))
    refused = await client.post(
        f"/api/v1/admin/bookings/{created['id']}/cancel",
        headers=admin.headers | {"Idempotency-Key": str(uuid.uuid4())},
        json={"reason": "Suspicious request"},
    )
    assert refused.status_code == 409 and "payment changed" in refused.json()["detail"], refused.text
    stored = await Booking.objects().get(Booking.id == uuid.UUID(created["id"]))
    assert stored is not None and stored.status == "awaiting_host" and stored.cancellation_key is None
    await Payment.update({Payment.status: "authorized"}).where(Payment.booking == uuid.UUID(created["id"]))
    answer = await client.post(
        f"/api/v1/admin/bookings/{created['id']}/cancel",
        headers=admin.headers | {"Idempotency-Key": str(uuid.uuid4())},
        json={"reason": "Suspicious request"},
    )
    assert answer.status_code == 202 and answer.json()["refund"]["method"] == "void"
    await wait_status(created["id"], "cancelled")
