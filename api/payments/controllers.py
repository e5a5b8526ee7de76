"""A guest's transaction history, and the endpoint Stripe delivers its events to."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency

from api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from api.payments.schemas import LedgerRead, WebhookAnswer
from api.payments.service import payment_history, receive_payment_event
from api.security import CurrentUser
from stayflow.providers.payments import StripePayments
from stayflow.settings import Settings
from stayflow.temporal import TemporalGateway


class PaymentsController(Controller):
    path = "/api/v1/payments"
    tags = ["payments"]

    @get(operation_id="myPayments", summary="My transaction history: every authorization, capture, void, refund")
    async def history(
        self,
        request: Request[CurrentUser, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[LedgerRead]:
        return await payment_history(request.user.id, limit=limit, cursor=cursor)


class StripeWebhookController(Controller):
    path = "/api/v1/webhooks/stripe"
    tags = ["webhooks"]

    @post(operation_id="stripeWebhook", summary="Stripe events (signature verified)", exclude_from_auth=True,
          status_code=200)  # fmt: skip
    async def receive(
        self,
        request: Request[Any, Any, Any],
        payments: NamedDependency[StripePayments],
        temporal: NamedDependency[TemporalGateway],
        settings: NamedDependency[Settings],
    ) -> WebhookAnswer:
        payload = await request.body()
        signature = request.headers.get("stripe-signature", "")
        return await receive_payment_event(payments, temporal, payload, signature, task_queue=settings.task_queue)
