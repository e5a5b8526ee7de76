"""`/api/v1/host/payouts`: onboarding to Stripe Connect, the account's state, the payouts."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency

from api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from api.payouts.schemas import Onboarding, PayoutAccountRead, PayoutRead
from api.payouts.service import page_of_payouts, payout_account, start_onboarding
from api.security import CurrentUser, requires_role
from models.identity import Role
from stayflow.providers.payments import StripePayments
from stayflow.settings import Settings


class HostPayoutsController(Controller):
    path = "/api/v1/host/payouts"
    tags = ["payouts"]
    guards = [requires_role(Role.host)]

    @post("/onboarding", operation_id="startPayoutOnboarding", summary="Create my Stripe account; a link to onboard",
          status_code=200)  # fmt: skip
    async def onboarding(
        self,
        request: Request[CurrentUser, Any, Any],
        payments: NamedDependency[StripePayments],
        settings: NamedDependency[Settings],
    ) -> Onboarding:
        return await start_onboarding(payments, settings, request.user.id)

    @get("/account", operation_id="myPayoutAccount", summary="My payout account: can it be paid, what is missing")
    async def account(
        self, request: Request[CurrentUser, Any, Any], payments: NamedDependency[StripePayments]
    ) -> PayoutAccountRead:
        return await payout_account(payments, request.user.id)

    @get(operation_id="myPayouts", summary="My payouts, oldest first: scheduled, paid, reversed, held, failed")
    async def payouts(
        self, request: Request[CurrentUser, Any, Any], limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
    ) -> Page[PayoutRead]:
        return await page_of_payouts(request.user.id, limit=limit, cursor=cursor)
