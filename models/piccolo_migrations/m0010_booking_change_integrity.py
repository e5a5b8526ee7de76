"""One payment per booking and sequence, one change per booking and number; a payment's
refunds never exceed it; existing payments learn what was refunded of them from the ledger."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-26T05:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "booking change integrity"

STATEMENTS = [
    "CREATE UNIQUE INDEX payments_one_per_sequence ON payments (booking, sequence)",
    "CREATE UNIQUE INDEX booking_changes_one_per_number ON booking_changes (booking, number)",
    """UPDATE payments p SET refunded = coalesce(
           (SELECT sum(e.amount) FROM ledger_entries e WHERE e.payment = p.id AND e.kind = 'refund'), 0)""",
    "ALTER TABLE payments ADD CONSTRAINT payments_refund_within_amount CHECK (refunded BETWEEN 0 AND amount)",
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
