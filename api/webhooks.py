"""Stripe webhooks: verified, handled once, turned into signals on the booking's workflow."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import stripe
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from temporalio.service import RPCError, RPCStatusCode

from api.errors import Problem
from models import Payment, StripeEvent
from stayflow.settings import Settings
from stayflow.temporal import TemporalGateway
from workflows.booking import BookingWorkflow, PaymentEvent, booking_workflow_id

SIGNATURE_TOLERANCE_SECONDS = 300

EVENT_KINDS = {
    "payment_intent.amount_capturable_updated": "succeeded",
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "failed",
    "charge.refunded": "refunded",
    "charge.dispute.created": "disputed",
}


class WebhookAnswer(msgspec.Struct):
    received: bool
    duplicate: bool = False


def _intent_id(obj: dict[str, Any]) -> str | None:
    if obj.get("object") == "payment_intent":
        return str(obj.get("id"))
    return obj.get("payment_intent")


class StripeWebhookController(Controller):
    path = "/api/v1/webhooks/stripe"
    tags = ["webhooks"]

    @post(operation_id="stripeWebhook", summary="Stripe events (signature verified)", exclude_from_auth=True,
          status_code=200)  # fmt: skip
    async def receive(
        self, request: Request[Any, Any, Any], settings: NamedDependency[Settings],
        temporal: NamedDependency[TemporalGateway],
    ) -> WebhookAnswer:  # fmt: skip
        payload = await request.body()
        signature = request.headers.get("stripe-signature", "")
        try:
            stripe.Webhook.construct_event(
                payload, signature, settings.stripe_webhook_secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
            )
            event = json.loads(payload)  # verified: now read it as plain JSON
            event_id, event_type, obj = str(event["id"]), str(event["type"]), dict(event["data"]["object"])
        except (ValueError, KeyError, TypeError, stripe.SignatureVerificationError) as exc:
            raise Problem(400, "The Stripe signature does not match this payload (or is too old).",
                          slug="bad-signature") from exc  # fmt: skip
        first_time = await StripeEvent.raw(
            "INSERT INTO stripe_events (id, type, received_at) VALUES ({}, {}, now())"
            " ON CONFLICT DO NOTHING RETURNING id",
            event_id, event_type,
        )  # fmt: skip
        if not first_time:
            return WebhookAnswer(received=True, duplicate=True)
        kind = EVENT_KINDS.get(event_type)
        intent_id = _intent_id(obj) if kind else None
        if kind and intent_id:
            payment = await Payment.objects().where(Payment.intent_id == intent_id).first()
            if payment is not None:
                handle = (await temporal.client()).get_workflow_handle(booking_workflow_id(payment.booking))
                try:
                    await handle.signal(BookingWorkflow.payment_event, PaymentEvent(kind=kind, intent_id=intent_id))
                except RPCError as exc:
                    if exc.status == RPCStatusCode.NOT_FOUND:
                        return WebhookAnswer(received=True)  # the booking's process has ended: nothing to tell
                    # Not recorded as handled: Stripe redelivers and we try again.
                    await StripeEvent.delete().where(StripeEvent.id == event_id)
                    raise
        return WebhookAnswer(received=True)
