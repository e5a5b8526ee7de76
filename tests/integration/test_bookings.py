"""Bookings end to end: the API, the real worker on the Temporal dev server, the real Stripe SDK
talking to a local fake Stripe that records every request."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from typing import Any

from httpx import AsyncClient

from api.bookings.service import booking_id_for
from models import Booking, Invoice, LedgerEntry, Message, Payment
from models.identity import Role
from stayflow.settings import Settings
from tests.conftest import RecordHistory
from tests.factories import LISTING_FIELDS, SignedIn, make_listing, make_user, signed_in_user
from tests.helpers import book, day, sign, stay, wait_status
from workers.main import build_worker
from workflows.booking import booking_workflow_id


async def test_instant_book_authorizes_captures_invoices_and_confirms(
    client: AsyncClient, worker: None, fake_stripe: Any
) -> None:
    host = await make_user(role=Role.host, email="host@example.com")
    listing = await make_listing(host, instant_book=True, nightly_price=10_000, cleaning_fee=2_500)
    guest = await signed_in_user(client, email="guest@example.com")
    created = await book(client, guest, stay(listing))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "pending_payment"
    assert body["price"]["total"] == 30_000 + 2_500 + 3_600 and body["payment"]["amount"] == body["price"]["total"]
    await wait_status(body["id"], "confirmed")

    [create] = fake_stripe.calls("POST", "/v1/payment_intents")
    assert create.params["capture_method"] == "manual" and create.params["amount"] == str(body["price"]["total"])
    assert create.idempotency_key == f"booking-{body['id']}-authorize"
    assert len(fake_stripe.calls("POST", "/capture")) == 1

    read = (await client.get(f"/api/v1/bookings/{body['id']}", headers=guest.headers)).json()
    assert read["status"] == "confirmed" and read["payment"]["status"] == "completed"
    ledger = (await client.get("/api/v1/payments", headers=guest.headers)).json()["items"]
    assert [(row["kind"], row["amount"]) for row in ledger] == [("authorization", 36_100), ("capture", 36_100)]

    invoice = (await client.get(f"/api/v1/bookings/{body['id']}/invoice", headers=guest.headers)).json()
    kinds = {d["kind"]: d for d in invoice["documents"]}
    year = dt.datetime.now(dt.UTC).year
    assert kinds["invoice"]["number"] == f"INV-{year}-000001" and kinds["receipt"]["number"] == f"RCT-{year}-000001"
    assert sum(line["amount"] for line in kinds["invoice"]["lines"]) == kinds["invoice"]["total"] == 36_100
    pdf = await client.get(f"/api/v1/bookings/{body['id']}/invoice.pdf", headers=guest.headers)
    assert (
        pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"
    )

    timeline = (await client.get(f"/api/v1/bookings/{body['id']}/timeline", headers=guest.headers)).json()
    steps = [s["step"] for s in timeline["steps"]]
    assert steps[:2] == ["requested", "payment_authorized"] and "confirmed" in steps

    stranger = await signed_in_user(client)
    for path in ("", "/timeline", "/invoice", "/invoice.pdf"):
        assert (await client.get(f"/api/v1/bookings/{body['id']}{path}", headers=stranger.headers)).status_code == 404
    host_view = await client.get("/api/v1/host/bookings", headers=(await _sign_in_host(client, host)).headers)
    assert [b["id"] for b in host_view.json()["items"]] == [body["id"]]

    async def mails() -> set[str]:
        return {m.kind for m in await Message.objects()}

    deadline = time.monotonic() + 20
    while not {"booking_confirmed", "booking_confirmed_host", "payment_receipt"} <= await mails():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)


async def _sign_in_host(client: AsyncClient, host: Any) -> SignedIn:
    from tests.factories import sign_in

    return await sign_in(client, host)


async def test_request_to_book_waits_for_the_host(client: AsyncClient, worker: None, fake_stripe: Any) -> None:
    host_user = await make_user(role=Role.host)
    listing = await make_listing(host_user, instant_book=False)
    host = await _sign_in_host(client, host_user)
    guest = await signed_in_user(client)
    created = (await book(client, guest, stay(listing))).json()
    await wait_status(created["id"], "awaiting_host")
    assert fake_stripe.calls("POST", "/capture") == []

    other_host = await signed_in_user(client, role=Role.host)
    for intruder in (guest, other_host):
        response = await client.post(f"/api/v1/bookings/{created['id']}/accept", headers=intruder.headers)
        assert response.status_code == 404
    accepted = await client.post(f"/api/v1/bookings/{created['id']}/accept", headers=host.headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "confirmed"
    assert len(fake_stripe.calls("POST", "/capture")) == 1
    twice = await client.post(f"/api/v1/bookings/{created['id']}/accept", headers=host.headers)
    assert twice.status_code == 409
    late_decline = await client.post(f"/api/v1/bookings/{created['id']}/decline", headers=host.headers)
    assert late_decline.status_code == 409


async def test_decline_voids_the_hold_and_frees_the_dates(client: AsyncClient, worker: None, fake_stripe: Any) -> None:
    host_user = await make_user(role=Role.host)
    listing = await make_listing(host_user, instant_book=False)
    host = await _sign_in_host(client, host_user)
    guest = await signed_in_user(client)
    created = (await book(client, guest, stay(listing))).json()
    await wait_status(created["id"], "awaiting_host")
    declined = await client.post(f"/api/v1/bookings/{created['id']}/decline", headers=host.headers)
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert declined.json()["payment"]["status"] == "voided"
    assert len(fake_stripe.calls("POST", "/cancel")) == 1 and fake_stripe.calls("POST", "/capture") == []
    ledger = [(e.kind, e.amount) for e in await LedgerEntry.objects().order_by(LedgerEntry.created_at)]
    assert [k for k, _ in ledger] == ["authorization", "void"]
    again = await book(client, await signed_in_user(client), stay(listing))
    assert again.status_code == 201  # the nights are free again


async def test_declined_card_fails_the_booking_and_releases_the_dates(
    client: AsyncClient, worker: None, fake_stripe: Any, dev_server_env: Any, record_history: RecordHistory
) -> None:
    listing = await make_listing(instant_book=True)
    guest = await signed_in_user(client, email="guest@example.com")
    created = (
        await book(client, guest, stay(listing, payment_method="pm_card_chargeDeclinedInsufficientFunds"))
    ).json()
    failed = await wait_status(created["id"], "payment_failed")
    assert "insufficient funds" in (failed.status_reason or "")
    read = (await client.get(f"/api/v1/bookings/{created['id']}", headers=guest.headers)).json()
    assert read["payment"]["status"] == "failed" and "insufficient funds" in read["payment"]["failure_message"]
    assert fake_stripe.calls("POST", "/capture") == []
    assert await LedgerEntry.count() == 0
    retry = await book(client, guest, stay(listing))
    assert retry.status_code == 201
    run = dev_server_env.client.get_workflow_handle(booking_workflow_id(created["id"]))
    assert await run.result() == "payment_failed"
    await record_history(dev_server_env, run.id, "booking_placed_then_declined")


async def test_a_refusal_by_the_process_is_what_the_same_key_hears_again(
    client: AsyncClient, worker: None, dev_server_env: Any, record_history: RecordHistory
) -> None:
    host = await signed_in_user(client, role=Role.host)
    guest = await signed_in_user(client)
    listings = [await make_listing(host.user, instant_book=False, title=f"Asked-for home number {i}") for i in range(4)]
    requested = [(await book(client, guest, stay(listing))).json()["id"] for listing in listings[:3]]
    for booking_id in requested:
        await wait_status(booking_id, "awaiting_host")
    key = str(uuid.uuid4())
    refused = await book(client, guest, stay(listings[3]), key)
    assert refused.status_code == 409 and refused.json()["type"].endswith("/too-many-unconfirmed"), refused.text
    run = dev_server_env.client.get_workflow_handle(booking_workflow_id(booking_id_for(guest.user.id, key)))
    assert await run.result() == "too_many_unconfirmed"  # the run ended holding nothing
    await record_history(dev_server_env, run.id, "booking_placement_refused")
    declined = await client.post(f"/api/v1/bookings/{requested[0]}/decline", headers=host.headers)
    assert declined.status_code == 200, declined.text
    # A slot is free now, but the same key replays the first answer; a new key books.
    again = await book(client, guest, stay(listings[3]), key)
    assert again.status_code == 409 and again.json()["type"].endswith("/too-many-unconfirmed"), again.text
    other = await book(client, guest, stay(listings[3], guests=3), key)
    assert other.status_code == 422 and other.json()["type"].endswith("/idempotency-key-reused")
    fresh = await book(client, guest, stay(listings[3]))
    assert fresh.status_code == 201, fresh.text
    assert await Booking.count() == 4


async def test_3d_secure_waits_for_stripes_webhook(
    client: AsyncClient, worker: None, fake_stripe: Any, api_settings: Settings
) -> None:
    listing = await make_listing(instant_book=True)
    guest = await signed_in_user(client)
    created = (await book(client, guest, stay(listing, payment_method="pm_card_authenticationRequired"))).json()
    deadline = time.monotonic() + 20
    while True:
        read = (await client.get(f"/api/v1/bookings/{created['id']}", headers=guest.headers)).json()
        if read["payment"]["client_secret"]:
            break
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    assert read["status"] == "pending_payment"
    payment = await Payment.objects().get(Payment.booking == uuid.UUID(created["id"]))
    assert payment is not None and payment.intent_id
    fake_stripe.complete_authentication(payment.intent_id)  # the guest passes 3-D Secure in the browser
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": "payment_intent.amount_capturable_updated",
        "data": {"object": {"id": payment.intent_id, "object": "payment_intent"}},
    }
    payload = json.dumps(event)
    bad = await client.post(
        "/api/v1/webhooks/stripe", content=payload, headers={"Stripe-Signature": sign(payload, "whsec_wrong")}
    )
    assert bad.status_code == 400
    stale = await client.post(
        "/api/v1/webhooks/stripe",
        content=payload,
        headers={"Stripe-Signature": sign(payload, api_settings.stripe_webhook_secret, at=int(time.time()) - 3600)},
    )
    assert stale.status_code == 400
    good = await client.post(
        "/api/v1/webhooks/stripe",
        content=payload,
        headers={"Stripe-Signature": sign(payload, api_settings.stripe_webhook_secret)},
    )
    assert good.status_code == 200 and good.json() == {"received": True, "duplicate": False}
    redelivered = await client.post(
        "/api/v1/webhooks/stripe",
        content=payload,
        headers={"Stripe-Signature": sign(payload, api_settings.stripe_webhook_secret)},
    )
    assert redelivered.json()["duplicate"] is True
    await wait_status(created["id"], "confirmed")
    assert len(fake_stripe.calls("POST", "/capture")) == 1
    garbled = json.dumps({"object": "event"})
    no_id = await client.post(
        "/api/v1/webhooks/stripe",
        content=garbled,
        headers={"Stripe-Signature": sign(garbled, api_settings.stripe_webhook_secret)},
    )
    assert no_id.status_code == 400


async def test_webhooks_for_a_finished_booking_are_acknowledged(
    client: AsyncClient, worker: None, fake_stripe: Any, api_settings: Settings
) -> None:
    listing = await make_listing(instant_book=False)
    host = await _sign_in_host(client, await make_user(role=Role.host))
    del host
    guest = await signed_in_user(client)
    created = (await book(client, guest, stay(listing, payment_method="pm_card_chargeDeclined"))).json()
    await wait_status(created["id"], "payment_failed")
    payment = await Payment.objects().get(Payment.booking == uuid.UUID(created["id"]))
    assert payment is not None and payment.intent_id
    deadline = time.monotonic() + 20
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": "payment_intent.payment_failed",
        "data": {"object": {"id": payment.intent_id, "object": "payment_intent"}},
    }
    payload = json.dumps(event)
    while True:  # once the run has closed, Stripe's late event must not bounce forever
        response = await client.post(
            "/api/v1/webhooks/stripe",
            content=payload,
            headers={"Stripe-Signature": sign(payload, api_settings.stripe_webhook_secret)},
        )
        assert response.status_code == 200, response.text
        if response.json()["duplicate"]:
            break
        assert time.monotonic() < deadline
        await asyncio.sleep(0.2)


async def test_same_idempotency_key_same_booking_other_body_422(client: AsyncClient, worker: None) -> None:
    listing = await make_listing(instant_book=True)
    guest = await signed_in_user(client)
    first = await book(client, guest, stay(listing), key="booking-attempt-0001")
    second = await book(client, guest, stay(listing), key="booking-attempt-0001")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    other = await book(client, guest, stay(listing, guests=3), key="booking-attempt-0001")
    assert other.status_code == 422
    missing = await client.post("/api/v1/bookings", headers=guest.headers, json=stay(listing, start=40))
    assert missing.status_code in (400, 422)
    assert await Booking.count() == 1


async def test_twenty_racing_requests_one_wins(client: AsyncClient, worker: None, fake_stripe: Any) -> None:
    listing = await make_listing(instant_book=True, max_guests=4)
    guests = [await signed_in_user(client) for _ in range(20)]
    responses = await asyncio.gather(
        *[book(client, g, stay(listing, start=20, nights=2 + i % 3)) for i, g in enumerate(guests)]
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 19, codes
    [winner] = [r.json() for r in responses if r.status_code == 201]
    await wait_status(winner["id"], "confirmed")
    assert await Booking.count() == 1 and await Payment.count() == 1
    assert len(fake_stripe.calls("POST", "/v1/payment_intents")) == 1
    assert len(fake_stripe.calls("POST", "/capture")) == 1


async def test_bad_booking_requests_change_nothing(client: AsyncClient, worker: None, api_settings: Settings) -> None:
    host = await signed_in_user(client, role=Role.host)
    listing = await make_listing(host.user, max_guests=4, min_nights=2, max_nights=10)
    draft = await make_listing(host.user, status="draft")
    guest = await signed_in_user(client)
    cases: list[tuple[SignedIn, dict[str, Any], int]] = [
        (guest, stay(listing, start=10, nights=0), 422),
        (guest, stay(listing, check_in=day(10), check_out=day(8)), 422),
        (guest, stay(listing, start=-3), 422),
        (guest, stay(listing, guests=5), 422),
        (guest, stay(listing, nights=1), 422),
        (guest, stay(listing, nights=11), 422),
        (guest, stay(listing, listing_id=str(uuid.uuid4())), 404),
        (guest, stay(draft), 404),
        (host, stay(listing), 422),
        (guest, stay(listing, payment_method=""), 422),
        (guest, stay(listing) | {"price": 1}, 422),
    ]
    for who, body, status in cases:
        response = await book(client, who, body)
        assert response.status_code == status, (body, response.text)
    assert await Booking.count() == 0 and await Payment.count() == 0


async def test_a_guest_cannot_hold_too_many_unconfirmed_requests(client: AsyncClient, worker: None) -> None:
    guest = await signed_in_user(client)
    listings = [await make_listing(instant_book=False, title=f"Requested home number {i}") for i in range(4)]
    for listing in listings[:3]:
        created = await book(client, guest, stay(listing))
        assert created.status_code == 201
        await wait_status(created.json()["id"], "awaiting_host")
    fourth = await book(client, guest, stay(listings[3]))
    assert fourth.status_code == 409
    assert await Booking.count() == 3


async def test_worker_restart_mid_payment_still_one_charge(
    client: AsyncClient, api_settings: Settings, dev_server_env: Any, fake_stripe: Any
) -> None:
    listing = await make_listing(instant_book=True)
    guest = await signed_in_user(client)
    fake_stripe.fail_only, fake_stripe.fail_next = "/capture", 10_000  # Stripe fails every capture
    async with build_worker(dev_server_env.client, api_settings):
        created = (await book(client, guest, stay(listing))).json()
        deadline = time.monotonic() + 20
        while not [r for r in fake_stripe.requests if r.path.endswith("/capture") and r.status == 500]:
            assert time.monotonic() < deadline, "no capture was attempted"
            await asyncio.sleep(0.05)
        payment = await Payment.objects().get(Payment.booking == uuid.UUID(created["id"]))
        assert payment is not None and payment.status == "authorized"
    # The first worker is gone mid-capture; Stripe recovers; a new worker picks the process up.
    fake_stripe.fail_next = 0
    async with build_worker(dev_server_env.client, api_settings):
        await wait_status(created["id"], "confirmed", timeout=60)
    assert len(fake_stripe.calls("POST", "/v1/payment_intents")) == 1
    assert len(fake_stripe.calls("POST", "/capture")) == 1
    assert await LedgerEntry.count() == 2 and await Invoice.count() == 2


async def test_a_yen_listing_is_priced_charged_and_receipted_in_whole_yen(
    client: AsyncClient, worker: None, fake_stripe: Any
) -> None:
    """A zero-decimal currency: the minor unit is the yen, so 12,000 a night is ¥12,000, not ¥120."""
    host = await signed_in_user(client, role=Role.host)
    fields: dict[str, Any] = {"currency": "JPY", "nightly_price": 12_000, "cleaning_fee": 3_000, "instant_book": True}
    made = await client.post("/api/v1/listings", headers=host.headers, json=LISTING_FIELDS | fields)
    assert made.status_code == 201 and made.json()["currency"] == "JPY", made.text
    listing = await make_listing(host.user, **fields)
    guest = await signed_in_user(client, email="yen-guest@example.com")
    created = await book(client, guest, stay(listing, nights=3))
    assert created.status_code == 201, created.text
    price = created.json()["price"]
    assert (price["subtotal"], price["service_fee"], price["total"]) == (36_000, 4_320, 43_320)
    await wait_status(created.json()["id"], "confirmed")
    [intent] = fake_stripe.calls("POST", "/v1/payment_intents")
    assert intent.params["amount"] == "43320" and intent.params["currency"].lower() == "jpy"

    deadline = time.monotonic() + 20
    while not (receipts := await Message.objects().where(Message.kind == "payment_receipt")):
        assert time.monotonic() < deadline, "no receipt was sent"
        await asyncio.sleep(0.1)
    assert "JPY 43,320" in receipts[0].text_body and "433.20" not in receipts[0].text_body
