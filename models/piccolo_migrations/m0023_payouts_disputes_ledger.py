"""Host payout accounts (Stripe Connect), payouts, disputes, the double-entry ledger, and the
platform's payout delay."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T00:23:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "payouts, disputes and double-entry postings"

STATEMENTS = [
    """CREATE TABLE host_payout_accounts (
        host UUID PRIMARY KEY REFERENCES users (id) ON DELETE RESTRICT,
        account_id VARCHAR(100) NOT NULL UNIQUE,
        payouts_enabled BOOLEAN NOT NULL DEFAULT false,
        requirements JSONB NOT NULL DEFAULT '[]',
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now())""",
    """CREATE TABLE payouts (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        booking UUID NOT NULL UNIQUE REFERENCES bookings (id) ON DELETE RESTRICT,
        host UUID NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
        amount INTEGER NOT NULL DEFAULT 0 CHECK (amount >= 0),
        reversed INTEGER NOT NULL DEFAULT 0 CHECK (reversed >= 0 AND reversed <= amount),
        currency VARCHAR(3) NOT NULL,
        status VARCHAR(20) NOT NULL DEFAULT 'scheduled' CHECK (status IN
            ('scheduled', 'held', 'paid', 'partially_reversed', 'reversed', 'failed', 'cancelled')),
        release_at TIMESTAMPTZ NOT NULL,
        transfer_id VARCHAR(100) NULL DEFAULT NULL,
        failure_message TEXT NULL DEFAULT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now())""",
    "CREATE INDEX payouts_host_created ON payouts (host, created_at, id)",
    """CREATE TABLE disputes (
        id VARCHAR(100) PRIMARY KEY,
        booking UUID NOT NULL REFERENCES bookings (id) ON DELETE RESTRICT,
        intent_id VARCHAR(100) NOT NULL,
        amount INTEGER NOT NULL CHECK (amount >= 0),
        currency VARCHAR(3) NOT NULL,
        status VARCHAR(30) NOT NULL,
        reason VARCHAR(60) NOT NULL DEFAULT '',
        evidence_due_by TIMESTAMPTZ NULL DEFAULT NULL,
        evidence_submitted_at TIMESTAMPTZ NULL DEFAULT NULL,
        outcome VARCHAR(10) NULL DEFAULT NULL CHECK (outcome IN ('won', 'lost')),
        created_at TIMESTAMPTZ NOT NULL DEFAULT now())""",
    "CREATE INDEX disputes_booking ON disputes (booking)",
    """CREATE TABLE ledger_postings (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        entry_key VARCHAR(200) NOT NULL,
        kind VARCHAR(30) NOT NULL,
        booking UUID NULL REFERENCES bookings (id) ON DELETE RESTRICT,
        account VARCHAR(40) NOT NULL,
        currency VARCHAR(3) NOT NULL,
        debit INTEGER NOT NULL DEFAULT 0 CHECK (debit >= 0),
        credit INTEGER NOT NULL DEFAULT 0 CHECK (credit >= 0),
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (entry_key, account))""",
    "CREATE INDEX ledger_postings_booking ON ledger_postings (booking, account)",
    # The books are append-only, like the guest-facing ledger (refuse_change() comes from m0005).
    """CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
       FOR EACH ROW EXECUTE FUNCTION refuse_change()""",
    "ALTER TABLE platform_settings ADD COLUMN payout_delay_hours INTEGER NOT NULL DEFAULT 24"
    " CHECK (payout_delay_hours >= 0)",
]


class RawTable(Table):
    pass


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="models", description=DESCRIPTION)

    async def run() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
