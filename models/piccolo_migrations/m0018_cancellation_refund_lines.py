"""The credit note's lines of a cancellation, stored with its claim next to the refund amount,
so the credit note says what was decided whichever request reaches the booking's process."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-26T06:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "cancellation refund lines"

STATEMENTS = [
    "ALTER TABLE bookings ADD COLUMN refund_lines JSONB NULL DEFAULT NULL",
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
