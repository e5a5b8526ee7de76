"""Idempotent booking creation, immutable invoices, and sane money."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-26T02:02:52:000000"
VERSION = "1.38.0"
DESCRIPTION = "booking idempotency, invoice immutability, money checks"

STATEMENTS = [
    # The same Idempotency-Key from the same guest can only ever create one booking.
    """CREATE UNIQUE INDEX bookings_guest_idempotency_key ON bookings (guest, idempotency_key)
       WHERE idempotency_key IS NOT NULL""",
    "CREATE INDEX bookings_listing_check_in ON bookings (listing, check_in)",
    "ALTER TABLE payments ADD CONSTRAINT payments_amount_positive CHECK (amount > 0)",
    "ALTER TABLE ledger_entries ADD CONSTRAINT ledger_amount_positive CHECK (amount > 0)",
    """CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION '% rows are immutable once written', TG_TABLE_NAME; END $$""",
    """CREATE TRIGGER invoices_immutable BEFORE UPDATE OR DELETE ON invoices
       FOR EACH ROW EXECUTE FUNCTION refuse_change()""",
    """CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger_entries
       FOR EACH ROW EXECUTE FUNCTION refuse_change()""",
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
