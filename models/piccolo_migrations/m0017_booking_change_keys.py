"""One change per booking and Idempotency-Key: two PATCHes racing with one key record one change."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-26T06:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "booking change idempotency keys"

STATEMENTS = [
    "CREATE UNIQUE INDEX booking_changes_one_per_key ON booking_changes (booking, idempotency_key)",
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
