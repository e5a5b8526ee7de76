"""Paying hosts (Stripe Connect), disputes, and the double-entry ledger (issue 11, SPEC §12).

`ledger_postings` is the platform's books: every movement of money (a capture, a refund, a
transfer to a host, its reversal, a dispute and its outcome) is one journal entry of two or
more lines whose debits equal its credits, written in the same transaction as the state it
records, once per `entry_key` (migration m0023 refuses a second line of one entry and account).
"""

from piccolo.columns import JSONB, UUID, Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from models.bookings import Booking
from models.identity import User


class HostPayoutAccount(Table, tablename="host_payout_accounts"):
    """A host's Stripe connected account (Express) and what Stripe last said of it."""

    host = ForeignKey(User, on_delete=OnDelete.restrict, primary_key=True)
    account_id = Varchar(length=100, unique=True)
    payouts_enabled = Boolean(default=False)
    requirements = JSONB(default=[])
    """Stripe's `requirements.currently_due`: what the host still has to give Stripe."""
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Payout(Table, tablename="payouts"):
    """What a booking pays its host, and when (one per booking, from its capture)."""

    id = UUID(primary_key=True)
    booking = ForeignKey(Booking, on_delete=OnDelete.restrict, unique=True)
    host = ForeignKey(User, on_delete=OnDelete.restrict, index=True)
    amount = Integer(default=0)
    """Transferred (once paid) or due (before): the host's earnings by the booking's terms."""
    reversed = Integer(default=0)
    currency = Varchar(length=3)
    status = Varchar(length=20, default="scheduled")
    """`scheduled`, `held` (a dispute), `paid`, `partially_reversed`, `reversed`, `failed`
    (Stripe refused: retried), `cancelled` (nothing left to pay after a cancellation)."""
    release_at = Timestamptz()
    transfer_id = Varchar(length=100, null=True, default=None)
    failure_message = Text(null=True, default=None)
    attempts = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Dispute(Table, tablename="disputes"):
    """A chargeback on a booking's charge, as Stripe tells it."""

    id = Varchar(length=100, primary_key=True)
    booking = ForeignKey(Booking, on_delete=OnDelete.restrict, index=True)
    intent_id = Varchar(length=100)
    amount = Integer()
    currency = Varchar(length=3)
    status = Varchar(length=30)
    reason = Varchar(length=60, default="")
    evidence_due_by = Timestamptz(null=True, default=None)
    evidence_submitted_at = Timestamptz(null=True, default=None)
    outcome = Varchar(length=10, null=True, default=None)
    """`won` or `lost`, once Stripe closes it."""
    fee = Integer(default=0)
    """Stripe's dispute fee (m0032)."""
    recovered_from_host = Integer(default=0)
    """What a lost dispute took from the host's earnings (m0032)."""
    closed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class LedgerPosting(Table, tablename="ledger_postings"):
    """One line of a journal entry: a debit or a credit of one account. Append-only."""

    id = UUID(primary_key=True)
    entry_key = Varchar(length=200)
    """The business event (`capture:<payment>`, `transfer:<booking>` ...): one entry per key."""
    kind = Varchar(length=30)
    booking = ForeignKey(Booking, on_delete=OnDelete.restrict, null=True, index=True)
    account = Varchar(length=40)
    currency = Varchar(length=3)
    debit = Integer(default=0)
    credit = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
