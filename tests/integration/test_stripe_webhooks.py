"""Stripe's webhook is never lost and never acted on twice: an event is recorded only after the
booking's workflow has it, and a redelivered event reaches the workflow once."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from httpx import AsyncClient

from api.app import create_app
from models import Payment, StripeEvent
from stayflow.devstack import free_port
from stayflow.settings import Settings
from tests.factories import SignedIn, make_listing, signed_in_user
from tests.helpers import api_client, book, deliver, eventually, stay, wait_status


async def _waiting_for_3d_secure(client: AsyncClient, fake_stripe: Any) -> tuple[str, SignedIn, dict[str, Any]]:
    """A booking whose guest passed 3-D Secure, and the Stripe event that says so."""
    listing = await make_listing(instant_book=True)
    guest = await signed_in_user(client)
    created = (await book(client, guest, stay(listing, payment_method="pm_card_authenticationRequired"))).json()

    async def secret_shown() -> str | None:
        read = await client.get(f"/api/v1/bookings/{created['id']}", headers=guest.headers)
        return read.json()["payment"]["client_secret"]

    await eventually(secret_shown, what="the PaymentIntent's client secret on the booking")
    payment = await Payment.objects().get(Payment.booking == uuid.UUID(created["id"]))
    assert payment is not None and payment.intent_id
    fake_stripe.complete_authentication(payment.intent_id)
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": "payment_intent.amount_capturable_updated",
        "data": {"object": {"id": payment.intent_id, "object": "payment_intent"}},
    }
    return created["id"], guest, event


async def test_an_event_arriving_while_temporal_is_down_is_delivered_again(
    client: AsyncClient, worker: None, fake_stripe: Any, api_settings: Settings
) -> None:
    booking_id, _, event = await _waiting_for_3d_secure(client, fake_stripe)
    cut_off = msgspec.structs.replace(api_settings, temporal_address=f"127.0.0.1:{free_port()}")
    async with api_client(create_app(cut_off)) as isolated:
        refused = await deliver(isolated, event, api_settings)
    assert refused.status_code == 503  # not 2xx: Stripe delivers it again
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert not await StripeEvent.exists().where(StripeEvent.id == event["id"])

    redelivered = await deliver(client, event, api_settings)
    assert redelivered.status_code == 200 and redelivered.json() == {"received": True, "duplicate": False}
    await wait_status(booking_id, "confirmed")
    assert await StripeEvent.exists().where(StripeEvent.id == event["id"])


async def test_a_redelivery_after_a_crash_reaches_the_workflow_once(
    client: AsyncClient, worker: None, fake_stripe: Any, api_settings: Settings
) -> None:
    booking_id, guest, event = await _waiting_for_3d_secure(client, fake_stripe)
    assert (await deliver(client, event, api_settings)).json() == {"received": True, "duplicate": False}
    await wait_status(booking_id, "confirmed")
    # The state a crash right after the signal leaves behind: the workflow has it, the record is missing.
    await StripeEvent.delete().where(StripeEvent.id == event["id"])

    again = await deliver(client, event, api_settings)
    assert again.status_code == 200 and again.json() == {"received": True, "duplicate": False}
    assert (await deliver(client, event, api_settings)).json()["duplicate"] is True
    timeline = (await client.get(f"/api/v1/bookings/{booking_id}/timeline", headers=guest.headers)).json()
    steps = [s["step"] for s in timeline["steps"]]
    assert steps.count("stripe_succeeded") == 1, steps
    assert len(fake_stripe.calls("POST", "/capture")) == 1
