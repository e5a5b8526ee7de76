"""The platform's books: double-entry journal entries in `ledger_postings` (issue 11, item 8).

Only the money activities (`activities/payments.py`, `activities/payouts.py`,
`activities/disputes.py`) call this, and
always inside the transaction that records the movement's state (a payment's status, a payout's,
a dispute's), so the books and the state never disagree. Accounts, in the platform's currency
of the booking:

| account            | kind      | moves when                                                          |
| ------------------ | --------- | ------------------------------------------------------------------- |
| `stripe_balance`   | asset     | a capture (debit), a refund, a transfer to a host, a dispute (credit) |
| `host_payable`     | liability | earned at capture (credit), paid by a transfer, taken by a lost dispute (debit) |
| `platform_revenue` | income    | the guest service fee and the host fee (credit), given back (debit) |
| `taxes_payable`    | liability | taxes collected (credit), refunded (debit)                           |
| `disputed_funds`   | asset     | taken by the bank during a dispute (debit), back or lost (credit)   |
| `dispute_losses`   | expense   | a lost dispute (debit), less the host's share of it (credit)         |
| `dispute_fees`     | expense   | Stripe's dispute fee (debit), given back when won (credit)           |
| `guest_funds`      | clearing  | a capture (credit), a refund (debit); `allocate` empties it          |

After every cash movement of a booking, `allocate` re-splits the booking's net cash between the
host's earnings (`stayflow.rules.payouts`), the taxes and the platform's revenue, posting only
the difference: the split always sums to the cash, so every entry balances by construction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from models import Booking, LedgerPosting
from stayflow.rules.payouts import host_earnings_after_refund
from stayflow.rules.terms import stored_terms

STRIPE_BALANCE = "stripe_balance"
HOST_PAYABLE = "host_payable"
PLATFORM_REVENUE = "platform_revenue"
TAXES_PAYABLE = "taxes_payable"
DISPUTED_FUNDS = "disputed_funds"
DISPUTE_LOSSES = "dispute_losses"
DISPUTE_FEES = "dispute_fees"
GUEST_FUNDS = "guest_funds"
"""A clearing account: the guest's money until `allocate` splits it (zero after every entry)."""

Line = tuple[str, int, int]
"""(account, debit, credit)"""


async def post_entry(entry_key: str, kind: str, booking_id: UUID | None, currency: str, lines: Sequence[Line]) -> bool:
    """One journal entry, once per `entry_key`; True when this call wrote it. Refuses an
    entry whose debits and credits differ (no unbalanced entry can ever reach the books)."""
    lines = [(a, d, c) for a, d, c in lines if d or c]
    if not lines:
        return False
    debits, credits = sum(d for _, d, _ in lines), sum(c for _, _, c in lines)
    if debits != credits:
        raise ValueError(f"unbalanced entry {entry_key}: debits {debits} != credits {credits}")
    values = ", ".join("(gen_random_uuid(), {}, {}, {}, {}, {}, {}, {}, now())" for _ in lines)
    args: list[Any] = []
    for account, debit, credit in lines:
        args += [entry_key, kind, booking_id, account, currency.upper(), debit, credit]
    rows = await LedgerPosting.raw(
        "INSERT INTO ledger_postings (id, entry_key, kind, booking, account, currency, debit, credit, created_at)"
        f" VALUES {values} ON CONFLICT (entry_key, account) DO NOTHING RETURNING id",
        *args,
    )
    return bool(rows)


def cash(account: str, amount: int) -> Line:
    """Money in (positive) or out (negative) of an asset account."""
    return (account, amount, 0) if amount >= 0 else (account, 0, -amount)


def owed(account: str, amount: int) -> Line:
    """More (positive) or less (negative) owed on a liability or income account."""
    return (account, 0, amount) if amount >= 0 else (account, -amount, 0)


async def balances(booking_id: UUID) -> dict[str, int]:
    """Each account's balance of one booking (debit - credit)."""
    rows = await LedgerPosting.raw(
        "SELECT account, COALESCE(SUM(debit - credit), 0) AS balance FROM ledger_postings"
        " WHERE booking = {} GROUP BY account",
        booking_id,
    )
    return {r["account"]: int(r["balance"]) for r in rows}


def json_value(value: Any) -> Any:
    """A JSONB column's value (piccolo hands over the decoded value or its JSON text)."""
    return json.loads(value) if isinstance(value, str) else value


def _refunded(lines: Sequence[Mapping[str, Any]] | None, description: str) -> int:
    return sum(int(line["amount"]) for line in lines or () if line.get("description") == description)


async def allocate(booking: Booking, entry_key: str) -> None:
    """Split the guest's money kept on the booking (captures - refunds, held in `guest_funds`)
    between the host, the taxes and the platform, posting only what changed since the last split.
    Call inside the transaction of the movement."""
    kept = await _sum(booking.id, GUEST_FUNDS, ("capture", "refund"))
    price: Mapping[str, Any] = json_value(booking.price) or {}
    terms = stored_terms(json_value(booking.terms)) if booking.terms else None
    lines = json_value(booking.refund_lines) if booking.refund_amount else None
    host = host_earnings_after_refund(price, terms, lines).amount if terms and kept > 0 else 0
    taxes = max(0, int(price.get("taxes", 0)) - _refunded(lines, "Refund of taxes")) if kept > 0 else 0
    host = min(host, kept)
    taxes = min(taxes, kept - host)
    earned = await _sum(booking.id, HOST_PAYABLE, ("allocation",))
    taxed = await _sum(booking.id, TAXES_PAYABLE, ("allocation",))
    revenue = await _sum(booking.id, PLATFORM_REVENUE, ("allocation",))
    await post_entry(
        f"{entry_key}:allocation",
        "allocation",
        booking.id,
        booking.currency,
        [
            cash(GUEST_FUNDS, kept - (earned + taxed + revenue)),  # the clearing account back to zero
            owed(HOST_PAYABLE, host - earned),
            owed(TAXES_PAYABLE, taxes - taxed),
            owed(PLATFORM_REVENUE, (kept - host - taxes) - revenue),
        ],
    )


async def _sum(booking_id: UUID, account: str, kinds: tuple[str, ...]) -> int:
    """credit - debit of one account of a booking, over entries of these kinds."""
    rows = await LedgerPosting.raw(
        "SELECT COALESCE(SUM(credit - debit), 0) AS owed FROM ledger_postings"
        " WHERE booking = {} AND account = {} AND kind = ANY({})",
        booking_id,
        account,
        list(kinds),
    )
    return int(rows[0]["owed"])


async def accrued_host_earnings(booking_id: UUID) -> int:
    """What the books say the host has earned on the booking (transfers and reversals aside)."""
    return await _sum(booking_id, HOST_PAYABLE, ("allocation",))


async def host_balance(booking_id: UUID) -> int:
    """What the platform still owes the host on the booking (negative: the host was overpaid)."""
    return await _sum(booking_id, HOST_PAYABLE, ("allocation", "transfer", "transfer_reversal", "dispute_recovery"))


async def record_capture(booking: Booking, payment_id: UUID, amount: int) -> None:
    """The guest's money arrives at Stripe: Dr stripe_balance / Cr guest_funds, then the split."""
    key = f"capture:{payment_id}"
    if await post_entry(key, "capture", booking.id, booking.currency,
                        [cash(STRIPE_BALANCE, amount), owed(GUEST_FUNDS, amount)]):  # fmt: skip
        await allocate(booking, key)


async def record_refund(booking: Booking, ledger_key: str, amount: int) -> None:
    """Money back to the guest: Dr guest_funds / Cr stripe_balance, then the split."""
    key = f"refund:{ledger_key}"
    if await post_entry(key, "refund", booking.id, booking.currency,
                        [owed(GUEST_FUNDS, -amount), cash(STRIPE_BALANCE, -amount)]):  # fmt: skip
        await allocate(booking, key)
