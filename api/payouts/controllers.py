"""`/api/v1/host/payouts`: onboarding to Stripe Connect, the account's state, the payouts and
the monthly statements (JSON, or PDF with `.pdf`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIMediaType, Operation, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.params import FromPath

from api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from api.payouts.schemas import Onboarding, PayoutAccountRead, PayoutRead, StatementRead
from api.payouts.service import (
    monthly_statement,
    monthly_statement_pdf,
    page_of_payouts,
    payout_account,
    start_onboarding,
)
from api.security import CurrentUser, requires_role
from models.identity import Role
from stayflow.providers.payments import StripePayments
from stayflow.settings import Settings


@dataclass
class _JsonOrPdf(Operation):
    """The statement's 200 is JSON, or a PDF when the month ends in `.pdf`."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        content = getattr(ok, "content", None)
        if isinstance(content, dict):
            content["application/pdf"] = OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
            )


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

    @get(
        "/statements/{month:str}",
        operation_id="myPayoutStatement",
        summary="My monthly statement: `2027-03` as JSON, `2027-03.pdf` as PDF",
        operation_class=_JsonOrPdf,
    )
    async def statement(self, request: Request[CurrentUser, Any, Any], month: FromPath[str]) -> StatementRead:
        """The bookings whose payout is released in the month (UTC), with totals per currency that
        agree with the books. A malformed month is a 422."""
        if month.endswith(".pdf"):
            pdf = await monthly_statement_pdf(request.user.id, month.removesuffix(".pdf"))
            filename = f"stayflow-statement-{month}"
            headers = {"Content-Disposition": f'inline; filename="{filename}"'}
            # Litestar sends a Response as it is; the JSON schema documents the other answer.
            return Response(pdf, media_type="application/pdf", headers=headers)  # type: ignore[return-value]
        return await monthly_statement(request.user.id, month)
