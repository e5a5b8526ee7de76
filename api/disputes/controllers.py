"""Admin: the disputes on bookings' charges, their evidence and outcome."""

from __future__ import annotations

from litestar import Controller, get

from api.disputes.schemas import DisputeRead
from api.disputes.service import page_of_disputes
from api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from api.security import requires_admin


class AdminDisputesController(Controller):
    path = "/api/v1/admin/disputes"
    tags = ["admin"]
    guards = [requires_admin]

    @get(operation_id="adminDisputes", summary="Disputes, newest first: amount, reason, evidence due and sent, outcome")
    async def disputes(self, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Page[DisputeRead]:
        return await page_of_disputes(limit=limit, cursor=cursor)
