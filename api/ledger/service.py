"""The trial balance (SPEC §12): every account's debits, credits and balance, per currency."""

from __future__ import annotations

from api.ledger.schemas import AccountBalance, TrialBalance
from models import LedgerPosting


async def trial_balance() -> TrialBalance:
    """Over all postings: balanced when, in every currency, the debits equal the credits."""
    rows = await LedgerPosting.raw(
        "SELECT account, currency, SUM(debit) AS debit, SUM(credit) AS credit FROM ledger_postings"
        " GROUP BY account, currency ORDER BY currency, account"
    )
    accounts = [
        AccountBalance(
            account=r["account"],
            currency=r["currency"],
            debit=int(r["debit"]),
            credit=int(r["credit"]),
            balance=int(r["debit"]) - int(r["credit"]),
        )
        for r in rows
    ]
    per_currency: dict[str, int] = {}
    for a in accounts:
        per_currency[a.currency] = per_currency.get(a.currency, 0) + a.balance
    difference = sum(abs(d) for d in per_currency.values())
    return TrialBalance(balanced=difference == 0, difference=difference, accounts=accounts)
