"""Admin: the platform's trial balance."""

from __future__ import annotations

from litestar import Controller, get

from api.ledger.schemas import TrialBalance
from api.ledger.service import trial_balance
from api.security import requires_admin


class AdminLedgerController(Controller):
    path = "/api/v1/admin/ledger"
    tags = ["admin"]
    guards = [requires_admin]

    @get("/balance", operation_id="ledgerTrialBalance", summary="Trial balance over every posting (debits = credits)")
    async def balance(self) -> TrialBalance:
        return await trial_balance()
