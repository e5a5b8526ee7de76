"""Admin metrics: the numbers match the data, workflows come from Temporal's visibility store,
and the database part still answers when Temporal does not."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from typing import Any

import msgspec
import pytest
from httpx import AsyncClient
from temporalio.client import WorkflowFailureError

from api.app import create_app
from models import Booking, LedgerEntry, Payment, User
from stayflow.devstack import free_port
from stayflow.rules.roles import Role
from stayflow.settings import Settings
from tests.factories import make_booking, make_listing, make_user, signed_in_user
from tests.helpers import TODAY, api_client, ready_draft, submit_and_wait
from workflows.listing_approval import ListingApprovalWorkflow, ModerationRequest


async def marketplace() -> User:
    """Users, listings and bookings with known numbers; returns a host."""
    host = await make_user(role=Role.host)
    await make_user(role=Role.host)
    suspended = await make_user()
    await User.update({User.suspended_at: dt.datetime.now(dt.UTC)}).where(User.id == suspended.id)
    guest = await make_user()
    loft = await make_listing(host)
    await make_listing(host, title="A second published home")
    await make_listing(host, status="draft", title="A draft listing here")
    await make_listing(host, status="suspended", title="A suspended listing")

    def stay(start: int, nights: int = 2) -> dict[str, Any]:
        return {"check_in": TODAY + dt.timedelta(days=start), "check_out": TODAY + dt.timedelta(days=start + nights)}

    confirmed = await make_booking(loft, guest, **stay(10, nights=3))
    completed = await make_booking(loft, guest, **stay(20))
    dollars = await make_booking(loft, guest, **stay(30, nights=1))
    cancelled = await make_booking(loft, guest, **stay(40))
    await make_booking(loft, guest, **stay(50))  # pending_payment: no money yet
    statuses = {
        confirmed.id: "confirmed",
        completed.id: "completed",
        dollars.id: "confirmed",
        cancelled.id: "cancelled",
    }
    for booking_id, status in statuses.items():
        await Booking.update({Booking.status: status}).where(Booking.id == booking_id)
    await Booking.update({Booking.currency: "USD"}).where(Booking.id == dollars.id)
    payment = await Payment.objects().get(Payment.booking == cancelled.id)
    assert payment is not None
    for kind, amount in (("capture", 50_000), ("refund", 12_500), ("refund", 7_500)):
        await LedgerEntry(payment=payment.id, booking=cancelled.id, guest=guest.id, kind=kind, amount=amount,
                          currency="EUR", dedupe_key=f"{kind}-{amount}").save()  # fmt: skip
    return host


async def database_part(body: dict[str, Any]) -> None:
    # Users: the two hosts above, the listing's host, the suspended one, the guest, the signed-in admin.
    assert body["users"] == {"total": 5, "by_role": {"guest": 2, "host": 2, "admin": 1}, "suspended": 1}
    assert body["listings_by_status"] == {
        "draft": 1, "pending_review": 0, "published": 2, "rejected": 0, "suspended": 1, "archived": 0,
    }  # fmt: skip
    assert body["bookings_by_status"] == {
        "pending_payment": 1, "awaiting_host": 0, "confirmed": 2, "completed": 1, "declined": 0, "expired": 0,
        "cancelled": 1, "payment_failed": 0,
    }  # fmt: skip
    # Confirmed and completed bookings count, each in its own currency (the factory prices them).
    totals = {(r["status"], r["currency"]): r["total"] for r in await Booking.select(Booking.status, Booking.currency,
                                                                                    Booking.total)}  # fmt: skip
    assert body["gross_booking_value"] == [
        {"currency": "EUR", "amount": totals["confirmed", "EUR"] + totals["completed", "EUR"], "count": 2},
        {"currency": "USD", "amount": totals["confirmed", "USD"], "count": 1},
    ]
    assert body["refunds"] == [{"currency": "EUR", "amount": 20_000, "count": 2}]


async def test_metrics_match_the_data(
    client: AsyncClient, worker: None, api_settings: Settings, dev_server_env: Any
) -> None:
    admin = await signed_in_user(client, role=Role.admin)
    host = await marketplace()
    response = await client.get("/api/v1/admin/metrics", headers=admin.headers)
    assert response.status_code == 200, response.text
    await database_part(response.json())
    assert response.json()["workflows"]["total"]["running"] == 0

    # One review waiting for an admin (running), one for a listing that does not exist (failed).
    signed_host = await signed_in_user(client, role=Role.host, email="second-host@example.com")
    waiting = await ready_draft(client, signed_host)
    await submit_and_wait(client, signed_host, waiting)
    broken = await dev_server_env.client.start_workflow(
        ListingApprovalWorkflow.run,
        ModerationRequest(listing_id=str(uuid.uuid4()), host_id=str(host.id)),
        id=f"listing-approval-{uuid.uuid4()}",
        task_queue=api_settings.task_queue,
    )
    with pytest.raises(WorkflowFailureError):
        await broken.result()

    deadline = time.monotonic() + 20  # visibility is updated asynchronously
    while True:
        body = (await client.get("/api/v1/admin/metrics", headers=admin.headers)).json()
        approvals = body["workflows"]["by_type"]["ListingApprovalWorkflow"]
        if (approvals["running"], approvals["failed"]) == (1, 1) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert body["workflows_unavailable"] is None
    assert body["workflows"]["task_queue"] == api_settings.task_queue
    assert (approvals["running"], approvals["failed"], approvals["completed"]) == (1, 1, 0)
    assert (body["workflows"]["total"]["running"], body["workflows"]["total"]["failed"]) == (1, 1)
    assert body["workflows"]["by_type"]["BookingWorkflow"]["running"] == 0
    assert body["listings_by_status"]["pending_review"] == 1 and body["users"]["by_role"]["host"] == 3


async def test_metrics_answer_without_temporal(api_settings: Settings) -> None:
    nowhere = msgspec.structs.replace(api_settings, temporal_address=f"127.0.0.1:{free_port()}")
    async with api_client(create_app(nowhere)) as client:
        admin = await signed_in_user(client, role=Role.admin)
        await marketplace()
        started = time.monotonic()
        response = await client.get("/api/v1/admin/metrics", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert time.monotonic() - started < 10
    body = response.json()
    await database_part(body)
    assert body["workflows"] is None and "Temporal did not answer" in body["workflows_unavailable"]
