"""Cancellations: the refund the table decides, answered first, then voided or refunded through
Stripe with a ledger row and a credit note; the nights come free; twice is a 409."""

from __future__ import annotations

import json
import uuid
from typing import Any

from httpx import AsyncClient
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowUpdateInput,
    WorkflowUpdateHandle,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)

from api.app import create_app
from models import Invoice, LedgerEntry, Payment
from models.identity import Role
from stayflow.settings import Settings
from tests.factories import make_listing, make_user, sign_in, signed_in_user
from tests.helpers import api_client, book, cancel, confirmed_booking, stay, wait_status


async def test_guest_cancels_early_gets_everything_back_once(
    client: AsyncClient, worker: None, fake_stripe: Any
) -> None:
    guest = await signed_in_user(client)
    booking = await confirmed_booking(client, guest, start=10, cancellation_policy="flexible")
    total = booking["price"]["total"]
    answer = await cancel(client, guest, booking["id"], key="cancel-attempt-0001")
    assert answer.status_code == 202, answer.text
    assert answer.json()["refund"]["amount"] == total and answer.json()["refund"]["method"] == "refund"
    replay = await cancel(client, guest, booking["id"], key="cancel-attempt-0001")
    assert replay.status_code == 202 and replay.json()["refund"] == answer.json()["refund"]  # rule text and all
    other_body = await client.post(
        f"/api/v1/bookings/{booking['id']}/cancel",
        json={"reason": "Something else"},
        headers=guest.headers | {"Idempotency-Key": "cancel-attempt-0001"},
    )
    assert other_body.status_code == 422
    await wait_status(booking["id"], "cancelled")
    late_replay = await cancel(client, guest, booking["id"], key="cancel-attempt-0001")
    assert late_replay.status_code == 202 and late_replay.json()["refund"] == answer.json()["refund"]
    assert answer.json()["refund"]["rule"].startswith("flexible:")
    again = await cancel(client, guest, booking["id"])
    assert again.status_code == 409

    [refund] = fake_stripe.calls("POST", "/v1/refunds")
    assert (
        refund.params["amount"] == str(total)
        and refund.idempotency_key == f"booking-{booking['id']}-refund-cancellation"
    )
    payment = await Payment.objects().get(Payment.booking == uuid.UUID(booking["id"]))
    assert payment is not None and payment.status == "refunded"
    kinds = [(e.kind, e.amount) for e in await LedgerEntry.objects().order_by(LedgerEntry.created_at)]
    assert kinds == [("authorization", total), ("capture", total), ("refund", total)]
    [credit_note] = await Invoice.objects().where(Invoice.kind == "credit_note")
    assert credit_note.total == total and credit_note.number.startswith("CRN-")
    rebook = await book(client, await signed_in_user(client), stay(booking["listing"], start=10))
    assert rebook.status_code == 201  # the nights are free again


async def test_late_moderate_cancellation_refunds_half_the_nights_and_the_cleaning_fee(
    client: AsyncClient, worker: None, fake_stripe: Any
) -> None:
    guest = await signed_in_user(client)
    booking = await confirmed_booking(client, guest, start=2, cancellation_policy="moderate")
    answer = (await cancel(client, guest, booking["id"])).json()
    assert answer["refund"]["amount"] == 15_000 + 5_000  # 50% of 3 nights at 100.00, cleaning fee, no service fee
    await wait_status(booking["id"], "cancelled")
    payment = await Payment.objects().get(Payment.booking == uuid.UUID(booking["id"]))
    assert payment is not None and payment.status == "partially_refunded"
    ledger = [(e.kind, e.amount) for e in await LedgerEntry.objects().order_by(LedgerEntry.created_at)]
    total = booking["price"]["total"]
    assert ledger == [("authorization", total), ("capture", total), ("refund", 20_000)]


async def test_host_cancellation_refunds_everything_even_when_strict(
    client: AsyncClient, worker: None, fake_stripe: Any
) -> None:
    host_user = await make_user(role=Role.host)
    guest = await signed_in_user(client)
    home = await make_listing(host_user, instant_book=True, cancellation_policy="strict")
    created = (await book(client, guest, stay(home, start=3))).json()
    await wait_status(created["id"], "confirmed")
    host = await sign_in(client, host_user)
    answer = (await cancel(client, host, created["id"])).json()
    assert answer["refund"]["amount"] == created["price"]["total"]
    await wait_status(created["id"], "cancelled")


async def test_cancelling_a_request_voids_the_hold_without_a_refund(
    client: AsyncClient, worker: None, fake_stripe: Any
) -> None:
    home = await make_listing(instant_book=False)
    guest = await signed_in_user(client)
    created = (await book(client, guest, stay(home))).json()
    await wait_status(created["id"], "awaiting_host")
    answer = (await cancel(client, guest, created["id"])).json()
    assert answer["refund"] == {"amount": 0, "currency": "EUR", "method": "void", "rule": answer["refund"]["rule"]}
    await wait_status(created["id"], "cancelled")
    assert len(fake_stripe.calls("POST", "/cancel")) == 1 and fake_stripe.calls("POST", "/v1/refunds") == []
    assert [e.kind for e in await LedgerEntry.objects().order_by(LedgerEntry.created_at)] == ["authorization", "void"]


async def test_only_the_guest_the_host_or_an_admin_can_cancel(client: AsyncClient, worker: None) -> None:
    guest = await signed_in_user(client)
    booking = await confirmed_booking(client, guest, start=12)
    stranger = await signed_in_user(client)
    assert (await cancel(client, stranger, booking["id"])).status_code == 404
    admin = await signed_in_user(client, role=Role.admin)
    answer = await cancel(client, admin, booking["id"])
    assert answer.status_code == 202 and answer.json()["refund"]["amount"] == booking["price"]["total"]
    await wait_status(booking["id"], "cancelled")


class _UpdatesLostOnTheWay(Interceptor):
    """A network that drops every workflow update before it reaches Temporal: the API hears a
    timeout, the booking's run hears nothing."""

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _DropUpdates(next)


class _DropUpdates(OutboundInterceptor):
    async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> WorkflowUpdateHandle[Any]:
        raise WorkflowUpdateRPCTimeoutOrCancelledError()


async def test_a_repeated_cancellation_gets_the_credit_note_that_was_decided(
    client: AsyncClient, worker: None, fake_stripe: Any, api_settings: Settings, dev_server_env: Any
) -> None:
    guest = await signed_in_user(client)
    booking = await confirmed_booking(client, guest, start=2, cancellation_policy="moderate")
    lossy = Client(**(dev_server_env.client.config() | {"interceptors": [_UpdatesLostOnTheWay()]}))
    async with api_client(create_app(api_settings, temporal_client=lossy)) as lossy_api:
        lost = await cancel(lossy_api, guest, booking["id"], key="cancel-lost-0001")
    assert lost.status_code == 503  # the refund is decided and claimed, the process never heard of it
    repeated = await cancel(client, guest, booking["id"], key="cancel-lost-0001")
    assert repeated.status_code == 202 and repeated.json()["refund"]["amount"] == 20_000
    await wait_status(booking["id"], "cancelled")
    [credit_note] = await Invoice.objects().where(Invoice.kind == "credit_note")
    lines = credit_note.lines if isinstance(credit_note.lines, list) else json.loads(credit_note.lines)
    assert lines == [  # line by line as decided, not one "Refund" line because the first request was lost
        {"description": "Refund of nights", "amount": 15_000},
        {"description": "Refund of cleaning fee", "amount": 5_000},
    ]
    assert credit_note.total == 20_000
    [refund] = fake_stripe.calls("POST", "/v1/refunds")
    assert refund.params["amount"] == "20000"


async def test_a_lost_cancellation_is_completed_by_the_next_request_and_blocks_nothing(
    client: AsyncClient, worker: None, fake_stripe: Any, api_settings: Settings, dev_server_env: Any
) -> None:
    host = await signed_in_user(client, role=Role.host)
    guest = await signed_in_user(client)
    home = await make_listing(host.user, instant_book=True, nightly_price=10_000, cleaning_fee=5_000)
    created = (await book(client, guest, stay(home, start=20))).json()
    await wait_status(created["id"], "confirmed")
    lossy = Client(**(dev_server_env.client.config() | {"interceptors": [_UpdatesLostOnTheWay()]}))
    async with api_client(create_app(api_settings, temporal_client=lossy)) as lossy_api:
        lost = await cancel(lossy_api, guest, created["id"])
    assert lost.status_code == 503  # claimed, never heard of by the process: the guest walks away
    by_host = await cancel(client, host, created["id"])
    assert by_host.status_code == 409 and "already cancelled" in by_host.json()["detail"]
    cancelled = await wait_status(created["id"], "cancelled")  # the guest's cancellation, as it was decided
    total = created["price"]["total"]  # moderate, 20 days ahead: everything back
    assert cancelled.cancelled_by == "guest" and cancelled.refund_amount == total
    [refund] = fake_stripe.calls("POST", "/v1/refunds")
    assert refund.params["amount"] == str(total)


async def test_a_lost_cancellation_decided_before_the_capture_is_decided_again_on_the_captured_payment(
    client: AsyncClient, worker: None, fake_stripe: Any, api_settings: Settings, dev_server_env: Any
) -> None:
    host = await signed_in_user(client, role=Role.host)
    guest = await signed_in_user(client)
    home = await make_listing(
        host.user, instant_book=False, nightly_price=10_000, cleaning_fee=5_000, cancellation_policy="flexible"
    )
    created = (await book(client, guest, stay(home, start=20))).json()
    await wait_status(created["id"], "awaiting_host")
    lossy = Client(**(dev_server_env.client.config() | {"interceptors": [_UpdatesLostOnTheWay()]}))
    async with api_client(create_app(api_settings, temporal_client=lossy)) as lossy_api:
        lost = await cancel(lossy_api, guest, created["id"], key="cancel-before-capture")
    assert lost.status_code == 503 and lost.json()  # decided on the hold: nothing to refund, a void
    accepted = await client.post(f"/api/v1/bookings/{created['id']}/accept", headers=host.headers)
    assert accepted.status_code == 200, accepted.text
    await wait_status(created["id"], "confirmed")
    repeated = await cancel(client, guest, created["id"], key="cancel-before-capture")
    assert repeated.status_code == 202, repeated.text
    total = created["price"]["total"]
    assert repeated.json()["refund"]["amount"] == total  # flexible, 20 days ahead: everything back
    await wait_status(created["id"], "cancelled")
    [refund] = fake_stripe.calls("POST", "/v1/refunds")
    assert refund.params["amount"] == str(total)
