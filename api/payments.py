"""A guest's transaction history: the ledger of every authorization, capture, void and refund."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get

from api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, keyset
from api.security import CurrentUser
from models import LedgerEntry


class LedgerRead(msgspec.Struct):
    id: UUID
    booking_id: UUID
    payment_id: UUID
    kind: str
    amount: int
    currency: str
    created_at: dt.datetime


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
        rows, next_cursor = await keyset(
            LedgerEntry.select().where(LedgerEntry.guest == request.user.id),
            time_column=LedgerEntry.created_at,
            id_column=LedgerEntry.id,
            limit=limit,
            cursor=cursor,
        )
        return Page(
            items=[
                LedgerRead(
                    id=r["id"],
                    booking_id=r["booking"],
                    payment_id=r["payment"],
                    kind=r["kind"],
                    amount=r["amount"],
                    currency=r["currency"],
                    created_at=r["created_at"],
                )
                for r in rows
            ],
            next_cursor=next_cursor,
        )
