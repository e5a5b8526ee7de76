"""What the ledger endpoint answers."""

from __future__ import annotations

import msgspec


class AccountBalance(msgspec.Struct):
    account: str
    currency: str
    debit: int
    credit: int
    balance: int
    """debit - credit (assets and expenses positive, liabilities and income negative)."""


class TrialBalance(msgspec.Struct):
    balanced: bool
    difference: int
    """The sum, over currencies, of |debits - credits|: 0 when the books balance."""
    accounts: list[AccountBalance]
