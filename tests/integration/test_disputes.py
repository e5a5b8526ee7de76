"""Disputes through the webhook endpoint on the Temporal dev server with the real worker: a
chargeback on a booking that is over still starts its DisputeWorkflow, a dispute of a charge we do
not know is acknowledged and ignored, and admins (only) see the disputes."""

from __future__ import annotations

import uuid
from typing import Any

from httpx import AsyncClient
from temporalio.service import RPCError

from models import Booking, Dispute, Payment, Payout
from models.identity import Role
from stayflow.settings import Settings
from tests.factories import signed_in_user
from tests.helpers import confirmed_booking, deliver, eventually


async def test_a_dispute_on_a_completed_booking_is_answered_and_admins_see_it(
    client: AsyncClient, worker: None, fake_stripe: Any, api_settings: Settings, dev_server_env: Any
) -> None:
    guest = await signed_in_user(client)
    booking = await confirmed_booking(client, guest, start=12)
    booking_id = uuid.UUID(booking["id"])
    # The stay is over and its run has ended: nothing listens on the booking any more.
    await dev_server_env.client.get_workflow_handle(f"booking-{booking_id}").terminate("the stay is over")
    await Booking.update({Booking.status: "completed"}).where(Booking.id == booking_id)
    payment = await Payment.objects().get(Payment.booking == booking_id)
    assert payment is not None and payment.intent_id
    dispute = fake_stripe.open_dispute(payment.intent_id, reason="fraudulent")
    answer = await deliver(client, fake_stripe.events[-1], api_settings)
    assert answer.status_code == 200 and answer.json() == {"received": True, "duplicate": False}

    async def evidence_sent() -> Dispute | None:
        row = await Dispute.objects().get(Dispute.id == dispute["id"])
        return row if row is not None and row.evidence_submitted_at is not None else None

    stored = await eventually(evidence_sent, timeout=60, what="the dispute's evidence submitted")
    assert fake_stripe.disputes[dispute["id"]]["status"] == "under_review"
    payout = await Payout.objects().get(Payout.booking == booking_id)
    assert payout is not None and payout.status == "held"

    admin = await signed_in_user(client, role=Role.admin)
    page = (await client.get("/api/v1/admin/disputes", headers=admin.headers)).json()
    (shown,) = page["items"]
    assert shown["id"] == dispute["id"] and shown["booking_id"] == booking["id"]
    assert shown["amount"] == payment.amount and shown["currency"] == payment.currency.upper()
    assert shown["reason"] == "fraudulent" and shown["status"] == "under_review" and shown["outcome"] is None
    assert shown["evidence_due_by"] and shown["evidence_submitted_at"] and shown["fee"] == 1_500
    assert stored.evidence_submitted_at is not None

    # The bank decides for the guest: the loss is booked, the books still balance.
    fake_stripe.close_dispute(dispute["id"], won=False)
    assert (await deliver(client, fake_stripe.events[-1], api_settings)).status_code == 200

    async def decided() -> dict[str, Any] | None:
        items = (await client.get("/api/v1/admin/disputes", headers=admin.headers)).json()["items"]
        return items[0] if items[0]["outcome"] else None

    closed = await eventually(decided, timeout=60, what="the dispute's outcome")
    assert closed["outcome"] == "lost" and closed["status"] == "lost" and closed["recovered_from_host"] > 0
    books = (await client.get("/api/v1/admin/ledger/balance", headers=admin.headers)).json()
    assert books["balanced"] is True


async def test_a_dispute_of_an_unknown_charge_is_acknowledged_and_ignored(
    client: AsyncClient, fake_stripe: Any, api_settings: Settings, dev_server_env: Any
) -> None:
    event = {"id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": "charge.dispute.created",
             "data": {"object": {"id": "dp_nobody", "object": "dispute", "amount": 1000, "currency": "usd",
                                 "payment_intent": "pi_nobody", "status": "needs_response"}}}  # fmt: skip
    answer = await deliver(client, event, api_settings)
    assert answer.status_code == 200 and answer.json()["received"] is True
    closed = event | {"id": f"evt_{uuid.uuid4().hex}", "type": "charge.dispute.closed"}
    assert (await deliver(client, closed, api_settings)).status_code == 200
    assert await Dispute.count() == 0
    try:
        await dev_server_env.client.get_workflow_handle("dispute-dp_nobody").describe()
        started = True
    except RPCError:
        started = False
    assert started is False


async def test_disputes_are_for_admins_only(client: AsyncClient) -> None:
    host = await signed_in_user(client, role=Role.host)
    refused = await client.get("/api/v1/admin/disputes", headers=host.headers)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    admin = await signed_in_user(client, role=Role.admin)
    assert (await client.get("/api/v1/admin/disputes", headers=admin.headers)).json() == {
        "items": [],
        "next_cursor": None,
    }
    bad = await client.get("/api/v1/admin/disputes?cursor=nonsense", headers=admin.headers)
    assert bad.status_code == 400
