"""What a cancellation answered about its refund (amount, currency, method, rule), stored when it
is claimed, so the same request again (same Idempotency-Key and body) answers exactly the same."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T00:28:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "cancellation refund answer"

STATEMENTS = ["ALTER TABLE bookings ADD COLUMN refund_answer JSONB NULL DEFAULT NULL"]


class RawTable(Table):
    pass


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="models", description=DESCRIPTION)

    async def run() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
